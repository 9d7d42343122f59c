"""Detection tables: new stories, updates, figure changes, and all the things that are not news."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from newswatch.detect import Detection, Rules, analyse, decide
from newswatch.models import (
    FigureReading,
    History,
    Known,
    Lookups,
    Observation,
    StoredStory,
    Topic,
)
from newswatch.novelty import key_of
from newswatch.shingles import article_shingles

NOW = datetime(2022, 2, 28, 15, 0, tzinfo=UTC)
RULES = Rules.build(
    [
        Topic(
            "talks",
            any=("talks", "negotiat*", "ceasefire"),
            all=("Russia*", "Ukrain*"),
            none=("trade talks",),
        ),
        Topic(
            "refugees",
            any=("refugee*", "fled"),
            all=("Ukrain*",),
            measures=(("fled", ("fled", "refugees")),),
        ),
    ]
)

TALKS = "Russian and Ukrainian delegations ended talks near the Belarus border on Monday afternoon."
SECOND = (
    "Both sides said a second round of negotiations would follow soon, the Ukrainian side added."
)
FLED = "More than half a million people have fled Ukraine to neighbouring countries, the UN says."
FLED_MORE = "The UN refugee agency now says about 660,000 people have fled Ukraine since Thursday."
WEATHER = "Snow is expected in Kyiv overnight, with temperatures falling well below freezing."


@dataclass
class MemoryHistory:
    """What a store would hand detection: stories by band, figure readings (newest first)."""

    stories: list[tuple[StoredStory, tuple[tuple[int, int], ...]]] = field(default_factory=list)
    readings: list[FigureReading] = field(default_factory=list)
    keys: dict[int, set[str]] = field(default_factory=dict)

    def story_candidates(self, topic: str, bands: Sequence[tuple[int, int]]) -> list[StoredStory]:
        want = set(bands)
        return [s for s, b in self.stories if s.topic == topic and want & set(b)]

    def stories_sharing(self, topic: str, keys: Sequence[str]) -> list[tuple[StoredStory, int]]:
        shared = [(s, len(self.keys.get(s.id, set()) & set(keys))) for s, _ in self.stories]
        return [(s, n) for s, n in shared if s.topic == topic and n >= 2]

    def figure_history(self, topic: str, measure: str, limit: int = 50) -> list[FigureReading]:
        return [r for r in reversed(self.readings) if (r.topic, r.measure) == (topic, measure)]

    def answer(self, lookups: Lookups) -> History:
        """What the store hands detection for its lookups (the pipeline's one history read)."""
        return History(
            {p.topic: tuple(self.story_candidates(p.topic, p.bands)) for p in lookups.stories},
            {p.topic: tuple(self.stories_sharing(p.topic, p.keys)) for p in lookups.stories},
            {(t, m): tuple(self.figure_history(t, m)) for t, m in lookups.measures},
        )

    def keep(self, det: Detection, url: str) -> None:
        for s in det.stories:
            i = len(self.stories)
            self.stories.append(
                (StoredStory(i, s.topic, url, "", s.signature, None, s.size), s.bands)
            )
            self.keys[i] = set(s.keys)
        self.readings.extend(det.figures)


def detect(
    obs: Observation, before: Known, rules: Rules, history: MemoryHistory, now: datetime
) -> Detection:
    """Detection as the pipeline runs it: analyse, read what it asks for, decide."""
    plan = analyse(obs, before, rules)
    return decide(plan, history.answer(plan.lookups), now)


def known(*paras: str, topics: tuple[str, ...] = ()) -> Known:
    return Known(
        True, frozenset(topics), frozenset(key_of(p) for p in paras), article_shingles(paras)
    )


def run(paras: tuple[str, ...], before: Known, kind: str = "page") -> list[tuple[str, str]]:
    obs = Observation("s", "https://e.org/live", kind, "Ukraine latest", paras)
    return [
        (d.kind, d.topic) for d in detect(obs, before, RULES, MemoryHistory(), NOW).developments
    ]


TYPO = TALKS.replace("delegations", "delegatoins")
STAMPED = "Updated 14:05 GMT"
CASES = [
    # (name, paragraphs now, what was known about the URL, expected [(kind, topic)])
    ("first match is a new story", (TALKS,), Known(), [("new_story", "talks")]),
    ("nothing on topic", (WEATHER,), Known(), []),
    (
        "two topics, two stories",
        (TALKS, FLED),
        Known(),
        [("new_story", "talks"), ("new_story", "refugees")],
    ),
    ("same text again", (TALKS,), known(TALKS, topics=("talks",)), []),
    ("reordered", (SECOND, TALKS), known(TALKS, SECOND, topics=("talks",)), []),
    (
        "new matching paragraph",
        (TALKS, SECOND),
        known(TALKS, topics=("talks",)),
        [("update", "talks")],
    ),
    ("new paragraph off topic", (TALKS, WEATHER), known(TALKS, topics=("talks",)), []),
    ("truncated then whole again", (TALKS, SECOND), known(TALKS, SECOND, topics=("talks",)), []),
    ("whitespace and case only", (" " + TALKS.upper() + " ",), known(TALKS, topics=("talks",)), []),
    ("typo fixed", (TYPO,), known(TALKS, topics=("talks",)), []),
    (
        "time stamp line changed",
        (TALKS, STAMPED),
        known(TALKS, "Updated 13:40 GMT", topics=("talks",)),
        [],
    ),
    ("paragraphs merged", (TALKS + " " + SECOND,), known(TALKS, SECOND, topics=("talks",)), []),
    (
        "sentence added to an old paragraph",
        (TALKS + " A ceasefire was not agreed and no date was set.",),
        known(TALKS, topics=("talks",)),
        [("update", "talks")],
    ),
    (
        "new topic on a known page is an update",
        (TALKS, FLED),
        known(TALKS, topics=("talks",)),
        [("update", "refugees")],
    ),
]


@pytest.mark.parametrize("name,paras,before,expected", CASES, ids=[c[0] for c in CASES])
def test_detection_table(name: str, paras: tuple[str, ...], before: Known, expected: list) -> None:
    assert run(paras, before) == expected


def test_update_shows_only_the_new_sentence() -> None:
    added = "A ceasefire was not agreed and no date was set for the next meeting."
    obs = Observation("s", "https://e.org/a", "page", "t", (TALKS + " " + added,))
    (dev,) = detect(obs, known(TALKS, topics=("talks",)), RULES, MemoryHistory(), NOW).developments
    assert dev.text == (added,)


def test_new_topic_on_a_known_article_is_a_story() -> None:
    obs = Observation("s", "https://e.org/a", "article", "Ukraine latest", (TALKS, FLED))
    devs = detect(obs, known(TALKS, topics=("talks",)), RULES, MemoryHistory(), NOW).developments
    assert [(d.kind, d.topic) for d in devs] == [("new_story", "refugees")]


def test_excluded_term_blocks_the_topic() -> None:
    assert run(("Ukraine and Russia trade talks on grain stalled before the war.",), Known()) == []


def test_one_development_per_topic_however_many_paragraphs() -> None:
    more = (
        SECOND,
        "A ceasefire was discussed by the Ukrainian side late in the evening.",
        "Negotiators met Russia's team again after a short break for consultations.",
    )
    assert run((TALKS, *more), known(TALKS, topics=("talks",))) == [("update", "talks")]


# --- stories across outlets ------------------------------------------------------------------

ORIGINAL = (
    "Officials from Russia and Ukraine ended their first round of talks on Monday and will return "
    "to their capitals for consultations, a Ukrainian presidential adviser said.",
    "The delegations discussed the possibility of meeting for a second round of negotiations "
    "soon, Mykhailo Podolyak told reporters at the Belarus border.",
    "The talks were aimed at securing an immediate ceasefire and the withdrawal of Russian "
    "forces, the Ukrainian president's office said.",
)
WIRE_COPY = (
    "Officials from Russia and Ukraine ended their first round of talks on Monday and will go "
    "back to their capitals for consultations, a Ukrainian presidential adviser said.",
    "The talks were aimed at securing an immediate ceasefire and the withdrawal of Russian "
    "forces, the Ukrainian president's office said.",
    "The delegations discussed meeting for a second round of negotiations soon, Mykhailo "
    "Podolyak told reporters at the border with Belarus.",
)
OTHER_STORY = (
    "Ukraine's president Volodymyr Zelensky said the talks with Russia had produced no result "
    "and accused Moscow of shelling Kharkiv while delegations met.",
    "Kharkiv's residential districts were hit by rockets on Monday, killing dozens, according "
    "to the Ukrainian military, which said negotiations would not stop its defence.",
)


def story(history: MemoryHistory, url: str, paras: tuple[str, ...], source: str) -> Detection:
    obs = Observation(source, url, "article", "headline", paras)
    det = detect(obs, Known(), RULES, history, NOW)
    history.keep(det, url)
    return det


LONG_ORIGINAL = (
    *ORIGINAL,
    "Russia's defence ministry said its forces had taken the towns of Berdyansk and Enerhodar "
    "while the delegations talked, and Ukraine denied that the nearby nuclear plant had fallen.",
    "Western diplomats said the talks were unlikely to bring a ceasefire soon because Moscow "
    "had set conditions that Kyiv has repeatedly rejected, including neutrality for Ukraine.",
    "The UN General Assembly began an emergency session on the war as the delegations met, with "
    "a vote on a resolution deploring Russia's aggression against Ukraine expected this week.",
    "Kremlin spokesman Dmitry Peskov declined to say what Moscow wanted from the negotiations, "
    "telling reporters only that the Russian delegation had reported back to President Putin.",
    "Ukraine's foreign minister said Kyiv would not accept ultimatums at the talks and urged "
    "Western partners to keep up sanctions pressure while the two sides kept meeting.",
    "Belarusian officials, who hosted the delegations at a hunting lodge near the border, said a "
    "second round of negotiations could take place within days at the same venue.",
)
TRIMMED_COPY = (
    "Officials from Russia and Ukraine ended their first round of talks on Monday.",  # lead cut
    ORIGINAL[1],  # kept word for word
    ORIGINAL[2],
)


@pytest.mark.parametrize(
    "first,second,kinds,attached",
    [
        (ORIGINAL, WIRE_COPY, [], True),  # wire copy, light edits, reordered: one development
        (ORIGINAL, OTHER_STORY, ["new_story"], False),  # another story on the topic: alerts
        (LONG_ORIGINAL, TRIMMED_COPY, [], True),  # a short copy keeping whole paragraphs
        # one shared background paragraph does not make two stories one
        (ORIGINAL, (OTHER_STORY[0], ORIGINAL[2], OTHER_STORY[1]), ["new_story"], False),
    ],
    ids=[
        "wire copy attaches",
        "different story alerts",
        "trimmed copy attaches",
        "shared background paragraph alerts",
    ],
)
def test_stories_across_outlets(
    first: tuple[str, ...], second: tuple[str, ...], kinds: list[str], attached: bool
) -> None:
    history = MemoryHistory()
    original = story(history, "https://one.example/a", first, "one")
    assert [d.kind for d in original.developments] == ["new_story"]
    det = story(history, "https://two.example/b", second, "two")
    assert [d.kind for d in det.developments] == kinds
    assert bool(det.attachments) is attached


# --- figures ---------------------------------------------------------------------------------


def figure_run(history: MemoryHistory, url: str, paras: tuple[str, ...], src: str) -> list:
    det = story(history, url, paras, src)
    return [(d.kind, d.text[0]) for d in det.developments]


def test_figure_change_alerts_with_before_and_after() -> None:
    history = MemoryHistory()
    assert figure_run(history, "https://one.example/a", (FLED,), "one")[0][0] == "new_story"
    ((kind, line),) = figure_run(history, "https://two.example/b", (FLED_MORE,), "two")
    assert kind == "new_story"  # a different story that also moves the figure
    assert line.startswith("fled: more than 500,000 → about 660,000"), line


def test_a_repeat_of_a_known_figure_is_not_a_change() -> None:
    history = MemoryHistory()
    figure_run(history, "https://one.example/a", (FLED_MORE,), "one")
    repeat = (
        "Around 660,000 people have fled Ukraine so far, according to UN figures released Monday."
    )
    devs = figure_run(history, "https://two.example/b", (repeat,), "two")
    assert all(not t.startswith("fled:") for _, t in devs), devs


def test_fingerprint_stable_across_runs() -> None:
    obs = Observation("s", "https://e.org/a", "article", "t", (TALKS,))
    a = detect(obs, Known(), RULES, MemoryHistory(), NOW).developments[0].fingerprint
    b = (
        detect(obs, Known(), RULES, MemoryHistory(), NOW.replace(hour=16))
        .developments[0]
        .fingerprint
    )
    assert a == b


def test_a_figure_edited_in_place_is_a_figure_change() -> None:
    history = MemoryHistory()
    before = "The UN says at least 102 civilians have been killed in Ukraine since Thursday."
    readings = Rules.build(
        [Topic("civilians", any=("civilians",), measures=(("killed", ("killed",)),))]
    )
    obs = Observation("s", "https://e.org/live", "page", "Live", (before,))
    first = detect(obs, Known(), readings, history, NOW)
    history.keep(first, obs.url)
    after = before.replace("102", "136")
    obs2 = Observation("s", obs.url, "page", "Live", (after,))
    (dev,) = detect(obs2, known(before, topics=("civilians",)), readings, history, NOW).developments
    assert dev.kind == "figure"
    assert dev.text[0] == "killed: at least 102 → at least 136"


def test_a_related_link_line_is_not_evidence_of_a_story() -> None:
    body = (
        "Russian shelling hit residential districts of Kharkiv on Monday, officials said.",
        "Half a million refugees have fled Ukraine, says UN",  # a related-story link
    )
    obs = Observation("s", "https://e.org/a", "article", "Kharkiv shelled", body)
    det = detect(obs, Known(), RULES, MemoryHistory(), NOW)
    assert det.developments == [] and det.matches == ()


def test_a_related_link_line_added_to_a_known_article_is_not_an_update() -> None:
    body = (TALKS, "Ukraine ceasefire talks: what we know about the second round")
    obs = Observation("s", "https://e.org/a", "article", "Talks end", body)
    assert (
        detect(obs, known(TALKS, topics=("talks",)), RULES, MemoryHistory(), NOW).developments == []
    )
