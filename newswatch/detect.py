"""Decides what on a fetched article or page is a new development; pure, values in and out.

Detection never queries anything. It runs in two steps around one read of the store:

    plan = analyse(obs, known, rules)        # topics matched, would-be stories, figures read
    history = store.history(plan.lookups)    # known copies of those stories, past readings
    found = decide(plan, history, now)       # developments, new stories, attachments

An article matching a topic for the first time is a story: a new one, or another outlet's copy
of a story already known (:func:`newswatch.dedupe.same_story`; attached, not alerted). A topic
it matched before, or any topic on a live page already watched, gives an update with only the
sentences never seen on the URL (:mod:`newswatch.novelty`). Figures in new text that differ
from every value already seen for the measure are figure changes; they ride on that alert, or
alert alone. At most one development per topic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newswatch.dedupe import band_keys, minhash, same_story, signature_to_bytes
from newswatch.figures import (
    Figure,
    MeasureSpec,
    compile_measures,
    find_figures,
    format_figure,
    same_value,
)
from newswatch.matching import (
    CompiledTopic,
    compile_topics,
    evidence_sentences,
    match_topics,
    split_sentences,
)
from newswatch.models import (
    Attachment,
    Development,
    DevelopmentKind,
    FigureReading,
    History,
    Known,
    Lookups,
    Match,
    NewStory,
    Observation,
    StoredStory,
    StoryProbe,
    Topic,
)
from newswatch.novelty import content_hash, is_body_text, key_of, new_paragraphs, new_sentences
from newswatch.shingles import article_shingles

MAX_UPDATE_SENTENCES = 6
MAX_STORY_SENTENCES = 3


@dataclass(frozen=True)
class Rules:
    """Topics and their measures, compiled once per run."""

    topics: list[CompiledTopic]
    measures: dict[str, list[MeasureSpec]]

    @classmethod
    def build(cls, topics: Sequence[Topic]) -> Rules:
        return cls(compile_topics(topics), {t.name: compile_measures(t.measures) for t in topics})

    def topic(self, name: str) -> CompiledTopic:
        return next(t for t in self.topics if t.name == name)


@dataclass(frozen=True, slots=True)
class TopicWork:
    """What one matched topic asks of the store, and what to show if it turns out new.

    A would-be story carries `story` (its signature and LSH bands); an update carries the new
    sentences in `text`. `figures` are the measure readings found in the text that counts.
    """

    match: Match
    text: tuple[str, ...]
    figures: tuple[Figure, ...]
    story: NewStory | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """The pure first step of detection on one observation."""

    obs: Observation
    content_hash: str
    new_paragraphs: tuple[tuple[str, str], ...]  # (key, text) never seen on this URL
    work: tuple[TopicWork, ...]

    @property
    def lookups(self) -> Lookups:
        stories = tuple(
            StoryProbe(w.story.topic, w.story.bands, w.story.keys) for w in self.work if w.story
        )
        measures = {(w.match.topic, f.measure) for w in self.work for f in w.figures}
        return Lookups(stories, tuple(sorted(measures)))


@dataclass
class Detection:
    matches: tuple[Match, ...]
    content_hash: str
    new_paragraphs: tuple[tuple[str, str], ...]
    developments: list[Development] = field(default_factory=list)
    stories: list[NewStory] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    figures: list[FigureReading] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)  # why a topic match did not alert


# --- step 1: analyse ---------------------------------------------------------------------------


def analyse(obs: Observation, known: Known, rules: Rules) -> Plan:
    """Match topics and prepare, per topic, the story or update it may be (no history needed)."""
    fresh_pairs = new_paragraphs(obs.paragraphs, known)
    fresh = {p for _, p in fresh_pairs}
    work = []
    for m in match_topics(rules.topics, obs.title, obs.paragraphs):
        if not _substantive(obs, m):
            continue
        evidence = [p for p in m.evidence if p in obs.paragraphs] or [obs.title]
        specs = rules.measures.get(m.topic) or []
        if m.topic not in known.topics and not (obs.kind == "page" and known.exists):
            work.append(_story_work(obs, m, evidence, specs, rules.topic(m.topic)))
            continue
        # Evidence paragraphs not seen as such; on an article, not headline-like link lines.
        changed = [p for p in evidence if p in fresh and is_body_text(obs, p)]
        text = [s for p in changed for s in new_sentences(p, known.seen)]
        # Figures are read in every changed paragraph: "at least 102" edited in place to
        # "at least 136" is a cosmetic edit to the words but a change of the figure.
        every = [s for p in changed for s in split_sentences(p)]
        work.append(TopicWork(m, tuple(text), _readings(every, specs)))
    return Plan(obs, content_hash(obs.title, obs.paragraphs), fresh_pairs, tuple(work))


def _substantive(obs: Observation, m: Match) -> bool:
    """False when an article mentions the topic only in short headline-like lines.

    Such lines are related-story links that extraction let through ("Half a million have fled
    Ukraine, says UN" under a story about shelling); a live page's entry headlines are its own.
    """
    if obs.kind == "page" or obs.title in m.evidence:
        return True
    return any(is_body_text(obs, p) for p in m.evidence)


def _story_work(
    obs: Observation,
    m: Match,
    evidence: list[str],
    specs: list[MeasureSpec],
    topic: CompiledTopic,
) -> TopicWork:
    shingle_set = article_shingles(evidence)
    sig = minhash(shingle_set)
    story = NewStory(
        fingerprint=_fingerprint("new_story", m.topic, obs.url),
        topic=m.topic,
        signature=signature_to_bytes(sig),
        bands=tuple(enumerate(band_keys(sig))),
        size=len(shingle_set),
        keys=tuple(key_of(p) for p in evidence),
    )
    sentences = [s for p in evidence for s in split_sentences(p)]
    shown = evidence_sentences(topic, evidence, limit=MAX_STORY_SENTENCES) or sentences[:1]
    return TopicWork(m, tuple(shown), _readings(sentences, specs), story)


def _readings(sentences: list[str], specs: list[MeasureSpec]) -> tuple[Figure, ...]:
    """The first reading of each measure in the sentences; increments ("a further 304") skipped."""
    found: dict[str, Figure] = {}
    for sentence in sentences if specs else []:
        for fig in find_figures(sentence, specs):
            if fig.measure not in found and fig.qualifier != "another":
                found[fig.measure] = fig
    return tuple(found.values())


# --- step 2: decide ----------------------------------------------------------------------------


def decide(plan: Plan, history: History, now: datetime) -> Detection:
    """Turn the plan into developments, given what the store knows about its lookups."""
    det = Detection(
        matches=tuple(w.match for w in plan.work),
        content_hash=plan.content_hash,
        new_paragraphs=plan.new_paragraphs,
    )
    for w in plan.work:
        changes = _figure_changes(plan.obs, w, history, det)
        if w.story is not None:
            _decide_story(plan.obs, w, w.story, changes, history, now, det)
        elif not w.text and not changes:
            det.quiet.append(f"{w.match.topic}: nothing new on this page")
        else:
            shown = list(w.text) or [c.sentence for c in changes]
            det.developments.append(_update(plan.obs, w.match, shown, changes, now))
    return det


def detect(
    obs: Observation, known: Known, rules: Rules, history: History, now: datetime
) -> Detection:
    """Both steps at once, for callers that already hold the history (tests, notebooks)."""
    return decide(analyse(obs, known, rules), history, now)


def _decide_story(
    obs: Observation,
    w: TopicWork,
    story: NewStory,
    changes: list[FigureChange],
    history: History,
    now: datetime,
    det: Detection,
) -> None:
    topic = w.match.topic
    verdict = same_story(story, history.candidates.get(topic, ()), history.sharing.get(topic, ()))
    if verdict.same and verdict.nearest is not None:
        det.attachments.append(Attachment(verdict.nearest.id, verdict.similarity))
        if changes:  # a copy that carries a new figure: the figure is the news
            det.developments.append(
                _figure_only(obs, w.match, changes, verdict.nearest, verdict.similarity, now)
            )
        else:
            det.quiet.append(
                f"{topic}: same story as {verdict.nearest.url} "
                f"(similarity {verdict.similarity:.2f})"
            )
        return
    dev = _development(
        "new_story",
        obs,
        w.match,
        list(w.text),
        changes,
        now,
        story.fingerprint or "",
        nearest=verdict.nearest.url if verdict.nearest else None,
        similarity=verdict.similarity,
    )
    det.developments.append(dev)
    det.stories.append(story)


@dataclass(frozen=True, slots=True)
class FigureChange:
    measure: str
    before: str
    after: str
    sentence: str

    def line(self) -> str:
        return f"{self.measure}: {self.before} → {self.after}"


def _figure_changes(
    obs: Observation, w: TopicWork, history: History, det: Detection
) -> list[FigureChange]:
    """Readings never seen before are recorded; against an earlier value they are a change."""
    changes = []
    for fig in w.figures:
        past = history.figures.get((w.match.topic, fig.measure), ())
        if any(same_value(r.value, fig.value) for r in past):
            continue  # a repeat, also of an older value: not a change
        shown = format_figure(fig)
        det.figures.append(
            FigureReading(
                w.match.topic,
                fig.measure,
                fig.value,
                fig.qualifier,
                shown[:200],
                fig.sentence,
                obs.url,
                obs.source,
            )
        )
        if past:  # the first reading sets the series; the story alert shows its sentence
            changes.append(FigureChange(fig.measure, past[0].text, shown, fig.sentence))
    return changes


def _development(
    kind: DevelopmentKind,
    obs: Observation,
    m: Match,
    text: list[str],
    changes: list[FigureChange],
    now: datetime,
    fingerprint: str,
    **why: object,
) -> Development:
    figure_lines = [c.line() for c in changes]
    return Development(
        fingerprint=fingerprint,
        kind=kind,
        topic=m.topic,
        source=obs.source,
        url=obs.url,
        title=obs.title,
        text=tuple(figure_lines + [t for t in text if t not in figure_lines]),
        published=obs.updated if kind != "new_story" and obs.updated else obs.published,
        detected=now,
        terms=m.terms,
        outlets=(obs.source,),
        reason={
            "kind": kind,
            "topic": m.topic,
            "terms": list(m.terms),
            "sources": [obs.source],
            "nearest": None,
            "similarity": None,
            "figures": [
                {"measure": c.measure, "before": c.before, "after": c.after, "sentence": c.sentence}
                for c in changes
            ],
            **why,
        },
    )


def _update(
    obs: Observation, m: Match, text: list[str], changes: list[FigureChange], now: datetime
) -> Development:
    keys = sorted({key_of(t) for t in text})
    return _development(
        "figure" if changes else "update",
        obs,
        m,
        text[:MAX_UPDATE_SENTENCES],
        changes,
        now,
        _fingerprint("update", m.topic, obs.url, *keys),
        new_sentences=len(text),
    )


def _figure_only(
    obs: Observation,
    m: Match,
    changes: list[FigureChange],
    nearest: StoredStory,
    similarity: float,
    now: datetime,
) -> Development:
    values = [f"{c.measure}={c.after}" for c in changes]
    return _development(
        "figure",
        obs,
        m,
        [c.sentence for c in changes],
        changes,
        now,
        _fingerprint("figure", m.topic, *values),
        nearest=nearest.url,
        similarity=similarity,
    )


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
