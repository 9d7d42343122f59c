"""Topic matching (SPEC 2 terms, SPEC 3 any/all/none) and the sentence splitter, as tables."""

from __future__ import annotations

import time

import pytest

from newswatch.matching import (
    CompiledTopic,
    check_term,
    compile_topics,
    evidence_sentences,
    match_topics,
    split_sentences,
)
from newswatch.models import Topic


def one(term: str) -> CompiledTopic:
    return compile_topics([Topic(name="t", any=(term,))])[0]


# (term, text, whether the term occurs)
TERMS = [
    ("talks", "Peace talks resumed on Monday", True),
    ("talks", "TALKS COLLAPSE IN MINSK", True),
    ("talks", "The heron stalks its prey", False),
    ("talks", "a talkshow host", False),
    ("talk", "the talks resumed", False),
    ("talks", "peace-talks", True),
    ("talks", "(talks)", True),
    ("sanction*", "The bank was sanctioned", True),
    ("sanction*", "Sanctions bite", True),
    ("sanction*", "an unsanctioned rally", False),
    ("negotiat*", "Negotiations are difficult", True),
    ("negotiat*", "the negotiator's view", True),
    ("negotiat*", "renegotiate the deal", False),
    ("Ukrain*", "Ukrainian troops", True),
    ("Ukrain*", "in Ukraine.", True),
    ("Ukrain*", "a pro-Ukrainian rally", True),
    ("delegation*", "The delegations are returning", True),
    ("trade talks", "new trade talks began", True),
    ("trade talks", "Trade  \n Talks", True),
    ("trade talks", "trade\u00a0talks", True),
    ("trade talks", "trade-talks", False),
    ("trade talks", "talks on trade", False),
    ("trade talks", "trade talkshow", False),
    ("crossed the border", "they Crossed The Border at dawn", True),
    ("crossed the border", "crossed the borders", False),
    ("Ukrain* refugee*", "Ukrainian refugees arrive", True),
    ("/export (ban|controls)/", "new export controls on chips", True),
    ("/export (ban|controls)/", "an EXPORT BAN", True),
    ("/export (ban|controls)/", "export rules", False),
    ("/\\bEU\\b/", "the eu said", True),
    ("/\\bEU\\b/", "Europe", False),
    ("/(?-i:SWIFT)/", "a swift reply", False),
    ("/(?-i:SWIFT)/", "cut off from SWIFT", True),
    ("SWIFT", "a swift reply", True),  # terms are case-insensitive (SPEC 2); see the row above
    ("Russia's", "Russia\u2019s demands", True),
    ("Russia\u2019s", "Russia's demands", True),
    ("Russia", "Russia's demands", True),
    ("Russia*", "Russia\u2019s demands", True),
    ("Russia's", "Russias demands", False),
    ("переговоры", "Переговоры начались", True),
    ("переговор*", "о переговорах", True),
    ("мир", "мирный план", False),
    ("мир*", "мирный план", True),
    ("délégation", "LA DÉLÉGATION", True),
    ("U.N.", "the U.N. said", True),
    ("U.N.", "the UN said", False),
    ("G7", "the G7 summit", True),
    ("G7", "the G77 group", False),
    ("fled", "had fled.", True),
    ("fled", "a fledgling state", False),
    ("C++", "written in C++, mostly", True),
]


@pytest.mark.parametrize(("term", "text", "expected"), TERMS)
def test_term(term: str, text: str, expected: bool) -> None:
    matched = match_topics([one(term)], "", [text])
    assert bool(matched) is expected


TALKS = Topic(
    name="talks",
    any=("talks", "negotiat*", "ceasefire", "delegation*"),
    all=("Russia*", "Ukrain*"),
    none=("trade talks", "pay talks"),
)
SANCTIONS = Topic(name="sanctions", any=("sanction*", "asset freeze", "/export (ban|controls)/"))

# (topic, title, paragraphs, expected terms or None when the topic must not match)
RULES = [
    (TALKS, "Russia, Ukraine plan second round of talks", [], ("talks", "Russia*", "Ukrain*")),
    (
        TALKS,
        "Second round planned",
        ["Russian officials met.", "Ukraine wants a ceasefire."],
        ("ceasefire", "Russia*", "Ukrain*"),
    ),
    (TALKS, "Talks end", ["Russia wants a ceasefire."], None),  # no Ukrain* anywhere
    (TALKS, "Ukraine and Russia", ["Nothing about the subject."], None),  # all without any
    (TALKS, "Russia and Ukraine hold talks", ["Separately, trade talks stalled."], None),
    (TALKS, "Pay talks in Russia", ["Ukraine delegation arrives."], None),  # none in the title
    (TALKS, "Russia and Ukraine", ["The heron stalks", "nothing else"], None),
    (
        TALKS,
        "Russia, Ukraine",
        ["A ceasefire, then talks.", "Negotiators met; talks again."],
        ("talks", "negotiat*", "ceasefire", "Russia*", "Ukrain*"),
    ),
    (
        SANCTIONS,
        "",
        ["New sanctions", "export controls widened", "asset freeze"],
        ("sanction*", "asset freeze", "/export (ban|controls)/"),
    ),
    (SANCTIONS, "Markets", ["Trade talks resumed."], None),
    (Topic(name="x", any=("talks", "talks", " talks ")), "talks", [], ("talks",)),
    (Topic(name="x", any=("peace talks", "talks")), "", ["peace talks"], ("peace talks", "talks")),
    (Topic(name="x", any=("talks",), all=("talks",)), "", ["talks"], ("talks",)),
]


@pytest.mark.parametrize(("topic", "title", "paragraphs", "terms"), RULES)
def test_any_all_none(
    topic: Topic, title: str, paragraphs: list[str], terms: tuple[str, ...] | None
) -> None:
    matches = match_topics(compile_topics([topic]), title, paragraphs)
    if terms is None:
        assert matches == []
    else:
        assert [m.terms for m in matches] == [terms]


def test_evidence_is_title_first_then_matching_paragraphs_in_order() -> None:
    paragraphs = [
        "Intro without it.",
        "Delegations met.",
        "Weather.",
        "A ceasefire was discussed.",
        "Delegations met.",
    ]
    [match] = match_topics(compile_topics([TALKS]), "Russia and Ukraine resume talks", paragraphs)
    assert match.topic == "talks"
    assert match.evidence == (
        "Russia and Ukraine resume talks",
        "Delegations met.",
        "A ceasefire was discussed.",
    )


def test_title_without_term_is_not_evidence() -> None:
    [match] = match_topics(compile_topics([TALKS]), "Russia and Ukraine", ["The talks ended."])
    assert match.evidence == ("The talks ended.",)


def test_match_topics_keeps_topic_order_and_skips_non_matching() -> None:
    compiled = compile_topics([SANCTIONS, TALKS, Topic(name="refugees", any=("refugee*",))])
    matches = match_topics(
        compiled, "Russia hit with sanctions", ["Ukraine talks stall.", "Refugees flee."]
    )
    assert [m.topic for m in matches] == ["sanctions", "talks", "refugees"]
    assert match_topics(compiled, "", []) == []


def test_evidence_sentences_limit_and_order() -> None:
    paragraphs = [
        "Mr. Podolyak said the talks ended. The weather was cold. Negotiations may resume.",
        "No mention here. None at all.",
        "A ceasefire is the aim. Delegations went home. Officials left.",
    ]
    ct = compile_topics([TALKS])[0]
    assert evidence_sentences(ct, paragraphs) == [
        "Mr. Podolyak said the talks ended.",
        "Negotiations may resume.",
        "A ceasefire is the aim.",
    ]
    assert evidence_sentences(ct, paragraphs, limit=1) == ["Mr. Podolyak said the talks ended."]
    assert evidence_sentences(ct, paragraphs, limit=0) == []
    assert evidence_sentences(ct, ["talks. talks.", "Talks.", "Talks."], limit=5) == [
        "talks. talks.",
        "Talks.",
    ]


@pytest.mark.parametrize(
    "term",
    [
        "",
        "   ",
        "*",
        "neg*tiate",
        "a **",
        "//",
        "/(unclosed/",
        "/x*/",
        "/|a/",
        "/(a)\\1/",
    ],
)
def test_bad_terms_raise_value_error(term: str) -> None:
    with pytest.raises(ValueError):
        check_term(term)
    with pytest.raises(ValueError):
        compile_topics([Topic(name="t", any=(term,))])


def test_regex_terms_keep_their_own_groups() -> None:
    ct = compile_topics([Topic(name="t", any=("/(?P<w>\\w+)-(ban|deal)/", "/(a|b)c/", "talks"))])[0]
    [match] = match_topics([ct], "", ["an export-ban", "abc"])
    assert match.terms == ("/(?P<w>\\w+)-(ban|deal)/", "/(a|b)c/")


@pytest.mark.parametrize(
    "term", ["/(a)\\1/", "/(?P<w>\\w+) (?P=w)/", "/talks(?=\\s)/", "/(?<!trade )talks/", "/x(?!y)/"]
)
def test_terms_re2_cannot_run_in_linear_time_are_refused(term: str) -> None:
    with pytest.raises(ValueError, match="RE2 syntax: no backreferences or lookarounds"):
        check_term(term)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("/(a+)+$/", "a" * 48 + "!"),
        ("/(\\w+\\s*)+ceasefire/", "the delegation said that they want the talks x"),
        ("/(x+x+)+y/", "x" * 5000),
    ],
)
def test_regex_terms_run_in_linear_time(term: str, text: str) -> None:
    # Each of these takes minutes or longer with a backtracking engine (issue 7).
    ct = compile_topics([Topic(name="t", any=(term,))])[0]
    started = time.monotonic()
    for _ in range(100):
        assert match_topics([ct], text, [text] * 10) == []
    assert time.monotonic() - started < 10.0  # generous: RE2 needs milliseconds


# Each row is the expected sentences joined by " | "; the input joins them with one space.
SENTENCES = [
    "One. | Two.",
    "Mr. Podolyak said talks ended. | They will resume.",
    "Mrs. Smith and Dr. Jones met St. Petersburg officials.",
    "The U.N. Security Council met. | It voted.",
    "Aid left the U.S. | The convoy arrived.",
    "About 1.5 million people fled. | More followed.",
    "Prices rose 2.5% on Friday.",
    'He said: "We will return." | The talks ended.',
    "\u201cWe will return.\u201d | The talks ended.",
    "\u00abNous reviendrons.\u00bb | Les pourparlers ont pris fin.",
    '"Why?" he asked. | Nobody knew!',
    "Is it over? | Yes! | It is.",
    "John F. Kennedy and J. K. Rowling spoke.",
    "Talks at No. 10 went on. | The end.",
    "It began on Feb. 24 at 4 a.m. Moscow time.",
    "The answer was no. | Then it was yes.",
    "Shares in Acme Inc. fell. | Acme Inc. | The end.",
    "They waited... | Then the shelling began.",
    "They waited\u2026 | Then it began.",
    "e.g. this one. | And that.",
    "Gen. Smith and Lt. Col. Jones arrived. | They left.",
    "Он сказал. | Переговоры начались.",
    "No terminator at all",
    "(Reuters) Talks ended. | [Read more.] | Next.",
    "It ended in 2022. | 2023 began.",
]


@pytest.mark.parametrize("expected", SENTENCES)
def test_split_sentences(expected: str) -> None:
    assert split_sentences(expected.replace(" | ", " ")) == expected.split(" | ")


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Headline\nFirst sentence. Second.", ["Headline", "First sentence.", "Second."]),
        ("  One.\n\n  Two.  ", ["One.", "Two."]),
        ("  ", []),
        ("", []),
    ],
)
def test_split_sentences_lines_and_blanks(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    "text",
    ["!" * 100_000, "." * 50_000 + " A", "a " * 50_000, "Mr. " * 25_000, "talks " * 25_000],
    ids=["bangs", "dots", "words", "titles", "terms"],
)
def test_hostile_text_is_linear(text: str) -> None:
    # Quadratic behaviour would take minutes here and trip pytest's timeout.
    assert "".join(split_sentences(text)).replace(" ", "") == text.replace(" ", "")
    assert isinstance(match_topics(compile_topics([TALKS, SANCTIONS]), text, [text]), list)
