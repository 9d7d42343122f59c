"""Decides what on a fetched article or page is a new development, against what the store knew.

Pure over what it is handed: the observation, what the store knew about its URL, and a
`History` to look up known stories (by LSH band) and figure readings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

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
    FigureReading,
    Match,
    NewStory,
    StoredStory,
    Topic,
)
from newswatch.similarity import (
    Signature,
    article_shingles,
    band_keys,
    minhash,
    new_sentences,
    shares_enough,
    signature_from_bytes,
    signature_to_bytes,
    story_likeness,
)
from parsers.text import is_headline_like, paragraph_key

MAX_UPDATE_SENTENCES = 6
MAX_STORY_SENTENCES = 3


@dataclass(frozen=True, slots=True)
class Observation:
    """One fetched article or live page, as the pipeline hands it to detection."""

    source: str
    url: str
    kind: str  # article | page
    title: str
    paragraphs: tuple[str, ...]
    published: datetime | None = None
    updated: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Known:
    """What the store knew about the URL before this fetch."""

    exists: bool = False
    topics: frozenset[str] = frozenset()
    paragraph_keys: frozenset[str] = frozenset()
    seen: frozenset[int] = frozenset()  # shingles of every paragraph ever seen on the URL


class History(Protocol):
    def story_candidates(
        self, topic: str, bands: Sequence[tuple[int, int]]
    ) -> list[StoredStory]: ...

    def stories_sharing(self, topic: str, keys: Sequence[str]) -> list[tuple[StoredStory, int]]: ...

    def figure_history(self, topic: str, measure: str, limit: int = 50) -> list[FigureReading]: ...


@dataclass(frozen=True)
class Rules:
    """Topics and their measures, compiled once per run."""

    topics: list[CompiledTopic]
    measures: dict[str, list[MeasureSpec]]

    @classmethod
    def build(cls, topics: Sequence[Topic]) -> Rules:
        return cls(compile_topics(topics), {t.name: compile_measures(t.measures) for t in topics})


@dataclass
class Detection:
    matches: tuple[Match, ...]
    content_hash: str
    new_paragraphs: tuple[tuple[str, str], ...]  # (key, text) never seen on this URL
    developments: list[Development] = field(default_factory=list)
    stories: list[NewStory] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    figures: list[FigureReading] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)  # why a topic match did not alert


def key_of(paragraph: str) -> str:
    """Short stable hash of a paragraph's normalised text (what "seen before" compares)."""
    return hashlib.sha1(paragraph_key(paragraph).encode("utf-8")).hexdigest()[:20]


def content_hash(title: str, paragraphs: Sequence[str]) -> str:
    h = hashlib.sha256(title.encode("utf-8"))
    for p in paragraphs:
        h.update(b"\0" + p.encode("utf-8"))
    return h.hexdigest()


def detect(
    obs: Observation, known: Known, rules: Rules, history: History, now: datetime
) -> Detection:
    """Match topics and turn what is new into developments: at most one per topic.

    An article matching a topic for the first time is a story: a new one, or another outlet's
    copy of a story already known (attached, not alerted). A topic it matched before, or any
    topic on a live page already watched, gives an update with only the sentences whose words
    were never seen on this URL. Figures in new text that differ from every value already
    seen for the measure are figure changes; they ride on that alert, or alert alone.
    """
    new_paragraphs = tuple(
        {k: p for p in obs.paragraphs if (k := key_of(p)) not in known.paragraph_keys}.items()
    )
    matches = match_topics(rules.topics, obs.title, obs.paragraphs)
    det = Detection(
        matches=tuple(m for m in matches if _substantive(obs, m)),
        content_hash=content_hash(obs.title, obs.paragraphs),
        new_paragraphs=new_paragraphs,
    )
    fresh = {p for _, p in new_paragraphs}
    for m in det.matches:
        evidence = [p for p in m.evidence if p in obs.paragraphs] or [obs.title]
        ct = next(t for t in rules.topics if t.name == m.topic)
        if m.topic not in known.topics and not (obs.kind == "page" and known.exists):
            _story(obs, m, ct, evidence, rules, history, now, det)
        else:
            # Evidence paragraphs not seen as such; on an article, not headline-like link lines.
            changed = [p for p in evidence if p in fresh and _is_text(obs, p)]
            text = [s for p in changed for s in new_sentences(p, known.seen)]
            # Figures are read in every changed paragraph: "at least 102" edited in place to
            # "at least 136" is a cosmetic edit to the words but a change of the figure.
            every = [s for p in changed for s in split_sentences(p)]
            changes = _figures(obs, m.topic, every, rules, history, det)
            if not text and not changes:
                det.quiet.append(f"{m.topic}: nothing new on this page")
                continue
            shown = text or [c.sentence for c in changes]
            det.developments.append(_update(obs, m, shown, changes, now))
    return det


def _substantive(obs: Observation, m: Match) -> bool:
    """False when an article mentions the topic only in short headline-like lines.

    Such lines are related-story links that extraction let through ("Half a million have fled
    Ukraine, says UN" under a story about shelling); a live page's entry headlines are its own.
    """
    if obs.kind == "page" or obs.title in m.evidence:
        return True
    return any(_is_text(obs, p) for p in m.evidence)


def _is_text(obs: Observation, paragraph: str) -> bool:
    """Body text rather than a headline-like line (long, or ending as a sentence does)."""
    return obs.kind == "page" or not is_headline_like(paragraph.rstrip())


def _story(
    obs: Observation,
    m: Match,
    ct: CompiledTopic,
    evidence: list[str],
    rules: Rules,
    history: History,
    now: datetime,
    det: Detection,
) -> None:
    shingle_set = article_shingles(evidence)
    sig = minhash(shingle_set)
    bands = tuple(enumerate(band_keys(sig)))
    found = history.story_candidates(m.topic, bands)
    nearest, similarity, same = _nearest(found, sig, len(shingle_set))
    keys = tuple(key_of(p) for p in evidence)
    if not same:  # a trimmed copy: too little of the whole shared, whole paragraphs kept
        for other, shared in history.stories_sharing(m.topic, keys):
            if shares_enough(shared, keys):
                nearest, same = other, True
                break
    sentences = [s for p in evidence for s in split_sentences(p)]
    changes = _figures(obs, m.topic, sentences, rules, history, det)
    if nearest is not None and same:
        det.attachments.append(Attachment(nearest.id, similarity))
        if changes:  # a copy that carries a new figure: the figure is the news
            det.developments.append(_figure_only(obs, m, changes, nearest, similarity, now))
        else:
            det.quiet.append(
                f"{m.topic}: same story as {nearest.url} (similarity {similarity:.2f})"
            )
        return
    shown = evidence_sentences(ct, evidence, limit=MAX_STORY_SENTENCES) or sentences[:1]
    dev = _development(
        "new_story",
        obs,
        m,
        shown,
        changes,
        now,
        _fingerprint("new_story", m.topic, obs.url),
        nearest=nearest.url if nearest else None,
        similarity=similarity,
    )
    det.developments.append(dev)
    det.stories.append(
        NewStory(dev.fingerprint, m.topic, signature_to_bytes(sig), bands, len(shingle_set), keys)
    )


def _nearest(
    candidates: list[StoredStory], sig: Signature, size: int
) -> tuple[StoredStory | None, float, bool]:
    """The most similar known story, its estimated Jaccard, and whether it is the same story."""
    best: tuple[StoredStory | None, float, bool] = (None, 0.0, False)
    for story in candidates:
        same, sim = story_likeness(sig, size, signature_from_bytes(story.signature), story.size)
        if (same, sim) > (best[2], best[1]):
            best = (story, round(sim, 3), same)
    return best


@dataclass(frozen=True, slots=True)
class FigureChange:
    measure: str
    before: str
    after: str
    sentence: str

    def line(self) -> str:
        return f"{self.measure}: {self.before} → {self.after}"


def _figures(
    obs: Observation,
    topic: str,
    sentences: list[str],
    rules: Rules,
    history: History,
    det: Detection,
) -> list[FigureChange]:
    """Readings of the topic's measures in new text; a value never seen before is a change."""
    specs = rules.measures.get(topic) or []
    if not specs:
        return []
    changes: list[FigureChange] = []
    done: set[str] = set()
    for sentence in sentences:
        for fig in find_figures(sentence, specs):
            if fig.measure in done or fig.qualifier == "another":
                continue  # "a further 304" is an increment, not the measure's new value
            done.add(fig.measure)
            change = _figure_change(obs, topic, fig, history, det)
            if change:
                changes.append(change)
    return changes


def _figure_change(
    obs: Observation, topic: str, fig: Figure, history: History, det: Detection
) -> FigureChange | None:
    past = history.figure_history(topic, fig.measure)
    if any(same_value(r.value, fig.value) for r in past):
        return None  # a repeat, also of an older value: not a change
    det.figures.append(
        FigureReading(
            topic,
            fig.measure,
            fig.value,
            fig.qualifier,
            format_figure(fig)[:200],
            fig.sentence,
            obs.url,
            obs.source,
        )
    )
    if not past:
        return None  # the first reading sets the series; the story alert shows its sentence
    return FigureChange(fig.measure, past[0].text, format_figure(fig), fig.sentence)


def _development(
    kind: str,
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
        kind=kind,  # type: ignore[arg-type]
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
    kind = "figure" if changes else "update"
    shown = text[:MAX_UPDATE_SENTENCES]
    return _development(
        kind,
        obs,
        m,
        shown,
        changes,
        now,
        _fingerprint("update", m.topic, obs.url, *keys),
        new_sentences=len(text),
    )


def _figure_only(
    obs: Observation,
    m: Match,
    changes: list[FigureChange],
    story: StoredStory,
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
        nearest=story.url,
        similarity=similarity,
    )


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
