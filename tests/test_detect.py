"""Detection table: what is a new story, what is an update, what is nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newswatch.detect import Known, Observation, detect, key_of
from newswatch.matching import compile_topics
from newswatch.models import Topic

NOW = datetime(2022, 2, 28, 15, 0, tzinfo=UTC)
TOPICS = compile_topics(
    [
        Topic(
            "talks",
            any=("talks", "negotiat*", "ceasefire"),
            all=("Russia*", "Ukrain*"),
            none=("trade talks",),
        ),
        Topic("refugees", any=("refugee*", "fled"), all=("Ukrain*",)),
    ]
)

TALKS = "Russian and Ukrainian delegations ended talks near the Belarus border."
SECOND = "Both sides said a second round of negotiations would follow soon in Ukraine."
FLED = "More than half a million people have fled Ukraine, the UN refugee agency said."
WEATHER = "Snow is expected in Kyiv overnight."


def known(*paras: str, topics: tuple[str, ...] = ()) -> Known:
    return Known(True, frozenset(topics), frozenset(key_of(p) for p in paras))


def run(
    paras: tuple[str, ...], before: Known, title: str = "Ukraine latest"
) -> list[tuple[str, str, tuple[str, ...]]]:
    obs = Observation("s", "https://e.org/live", "page", title, paras)
    return [(d.kind, d.topic, d.text) for d in detect(obs, before, TOPICS, NOW).developments]


CASES = [
    # (name, paragraphs now, what was known, expected [(kind, topic)])
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
        "new matching paragraph is an update",
        (TALKS, SECOND),
        known(TALKS, topics=("talks",)),
        [("update", "talks")],
    ),
    ("new paragraph off topic", (TALKS, WEATHER), known(TALKS, topics=("talks",)), []),
    ("truncated then whole again", (TALKS, SECOND), known(TALKS, SECOND, topics=("talks",)), []),
    (
        "whitespace and case only",
        ("  russian and UKRAINIAN delegations ended talks near the Belarus border. ",),
        known(TALKS, topics=("talks",)),
        [],
    ),
    (
        "new topic on a known page is an update",
        (TALKS, FLED),
        known(TALKS, topics=("talks",)),
        [("update", "refugees")],
    ),
]


@pytest.mark.parametrize("name,paras,before,expected", CASES, ids=[c[0] for c in CASES])
def test_detection_table(
    name: str, paras: tuple[str, ...], before: Known, expected: list[tuple[str, str]]
) -> None:
    assert [(k, t) for k, t, _ in run(paras, before)] == expected


def test_new_topic_on_a_known_article_is_a_story() -> None:
    obs = Observation("s", "https://e.org/a", "article", "Ukraine latest", (TALKS, FLED))
    devs = detect(obs, known(TALKS, topics=("talks",)), TOPICS, NOW).developments
    assert [(d.kind, d.topic, d.text) for d in devs] == [("new_story", "refugees", (FLED,))]


def test_update_carries_only_the_new_text() -> None:
    ((kind, topic, text),) = run((TALKS, SECOND), known(TALKS, topics=("talks",)))
    assert text == (SECOND,)


def test_excluded_term_blocks_the_topic() -> None:
    para = "Ukraine and Russia trade talks on grain stalled before the war."
    assert run((para,), Known()) == []


def test_one_development_per_topic_however_many_paragraphs() -> None:
    more = (
        TALKS,
        SECOND,
        "A ceasefire was discussed by the Ukrainian side.",
        "Negotiators met Russia's team.",
    )
    devs = run(more, known(topics=("talks",)))
    assert [(k, t) for k, t, _ in devs] == [("update", "talks")]


def test_fingerprint_stable_across_runs() -> None:
    obs = Observation("s", "https://e.org/a", "article", "t", (TALKS,))
    a = detect(obs, Known(), TOPICS, NOW).developments[0].fingerprint
    b = detect(obs, Known(), TOPICS, NOW.replace(hour=16)).developments[0].fingerprint
    assert a == b
