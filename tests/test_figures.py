"""Figures in sentences (SPEC 4 measures): numbers, qualifiers, cue attachment, hostile input."""

from __future__ import annotations

from typing import Any

import pytest

from newswatch import figures
from newswatch.figures import (
    MAX_CHARS,
    Figure,
    MeasureSpec,
    compile_measures,
    find_figures,
    format_figure,
    parse_number,
    same_value,
)

FLED = compile_measures((("fled", ("fled", "refugees")),))
WAR = compile_measures(
    (
        ("killed", ("killed",)),
        ("wounded", ("wounded",)),
        ("fled", ("fled", "refugees")),
        ("detained", ("detained",)),
        ("members", ("members", "member")),
    )
)


def readings(sentence: str, specs: list[MeasureSpec] = WAR) -> dict[str, tuple[float, str | None]]:
    return {f.measure: (f.value, f.qualifier) for f in find_figures(sentence, specs)}


# (sentence, value, qualifier): each must give exactly this one reading of "fled".
NUMBERS = [
    ("660,000 people have fled", 660_000, None),
    ("6,000 people fled", 6_000, None),
    ("6 000 people fled", 6_000, None),
    ("6\u00a0000 people fled", 6_000, None),
    ("6\u202f000 people fled", 6_000, None),
    ("6\u2009000 people fled", 6_000, None),
    ("1 200 000 people fled", 1_200_000, None),
    ("1,000,000 refugees", 1_000_000, None),
    ("102 people fled", 102, None),
    ("1.5 million people fled", 1_500_000, None),
    ("1.5m people fled", 1_500_000, None),
    ("1.5million people fled", 1_500_000, None),
    ("2bn refugees", 2_000_000_000, None),
    ("5k refugees", 5_000, None),
    ("660 thousand refugees", 660_000, None),
    ("half a million people fled", 500_000, None),
    ("a million people fled", 1_000_000, None),
    ("two million people fled", 2_000_000, None),
    ("a quarter of a million people fled", 250_000, None),
    ("three-quarters of a million people fled", 750_000, None),
    ("three quarters of a million people fled", 750_000, None),
    ("six thousand people fled", 6_000, None),
    ("twenty-five people fled", 25, None),
    ("twenty five people fled", 25, None),
    ("a hundred and two people fled", 102, None),
    ("two hundred and fifty thousand people fled", 250_000, None),
    ("one and a half million people fled", 1_500_000, None),
    ("a dozen families fled", 12, None),
    ("Two dozen families fled", 24, None),
    ("at least 102 people fled", 102, "at least"),
    ("more than 500,000 people fled", 500_000, "more than"),
    ("MORE THAN 500,000 REFUGEES", 500_000, "more than"),
    ("over 1,000 people fled", 1_000, "more than"),
    ("well over 1,000 people fled", 1_000, "more than"),
    ("in excess of 1 million refugees", 1_000_000, "more than"),
    ("almost 6,000 people fled", 6_000, "almost"),
    ("nearly 6,000 people fled", 6_000, "almost"),
    ("close to 6,000 people fled", 6_000, "almost"),
    ("about 660,000 people fled", 660_000, "about"),
    ("around 660,000 people fled", 660_000, "about"),
    ("some 2,000 people fled", 2_000, "about"),
    ("roughly 2,000 people fled", 2_000, "about"),
    ("approximately 2.5 million refugees", 2_500_000, "about"),
    ("an estimated 1 million people fled", 1_000_000, "about"),
    ("up to 4 million people fled", 4_000_000, "up to"),
    ("as many as 4 million people fled", 4_000_000, "up to"),
    ("fewer than 100 people fled", 100, "fewer than"),
    ("less than 100 people fled", 100, "fewer than"),
    ("under 100 people fled", 100, "fewer than"),
    ("no fewer than 100 people fled", 100, "at least"),
    ("exactly 1,000 people fled", 1_000, None),
    ("6,000 or more people fled", 6_000, "at least"),
    ("2,000 or so people fled", 2_000, "about"),
    ("6,000-plus people fled", 6_000, "more than"),
    ("6,000+ people fled", 6_000, "more than"),
    ("More than half a million people have fled", 500_000, "more than"),
    ("more than a quarter of a million refugees", 250_000, "more than"),
    ("another 10,000 people fled overnight", 10_000, "another"),
    ("a further 10,000 refugees arrived", 10_000, "another"),
    ("the number who have fled rose to 660,000", 660_000, None),
    ("the number who have fled went up to 660,000", 660_000, None),
    ("refugees rose from 500,000 to 660,000", 660_000, None),
    ("refugees rose by 12,000 to 660,000", 660_000, None),
    ("Refugees now number 660,000", 660_000, None),
    ("In 2022, 660,000 fled.", 660_000, None),
    ("Since Thursday, at least 660,000 have fled the country.", 660_000, "at least"),
    ("Refugees, 660,000 of them, crossed", 660_000, None),
    ("at least more than almost 100 refugees", 100, "almost"),
    ("fled: 660,000", 660_000, None),  # ':' glued to the cue ends a label, not the clause
]


@pytest.mark.parametrize(("sentence", "value", "qualifier"), NUMBERS)
def test_numbers_and_qualifiers(sentence: str, value: float, qualifier: str | None) -> None:
    found = find_figures(sentence, FLED)
    assert [(f.measure, f.value, f.qualifier) for f in found] == [("fled", value, qualifier)]


def test_there_are_enough_number_rows() -> None:
    assert len(NUMBERS) >= 50


# Sentences that must give no reading of "fled" at all.
NOTHING = [
    "Refugees have been arriving since 2014.",
    "In 2022 refugees fled the war.",
    "They fled on 28 February.",
    "They fled on February 28.",
    "They fled on Feb. 28 with nothing.",
    "They fled at 14:05 on Monday.",
    "They fled at 9am.",
    "They fled at 9 a.m. yesterday.",
    "They fled at 9 pm.",
    "40% of refugees are children.",
    "40 per cent of refugees are children.",
    "40 percent of refugees are children.",
    "Refugees face a second round of checks.",
    "On the fifth day, refugees fled.",
    "The 2nd convoy of refugees left.",
    "Hundreds of thousands of refugees crossed.",
    "Thousands fled the city.",
    "Dozens fled the shelling.",
    "Several thousand refugees crossed.",
    "Tens of thousands fled the city as 40 buses arrived.",
    "Between 500,000 and 600,000 refugees crossed.",
    "10 to 15 refugees crossed.",
    "10-15 refugees crossed.",
    "One or two refugees crossed.",
    "Officials counted 660,000 cars at the crossing point near the old border where refugees fled.",
    "Guards counted 660,000 cars; refugees fled on foot.",
    "Version 2.0.1 of the app helps refugees.",
    "An app at 1.2.3 helps refugees.",
    "Flight MH17 carried no refugees.",
    "An A320 full of refugees landed.",
    "F-16 jets flew as refugees fled.",
    "COVID-19 spread among refugees.",
    "Refugees can call +353 1 208 3111 for help.",
    "Refugees can call 01 208 3111 for help.",
    "Refugees can call 555-1234 for help.",
    "A three-day trek for refugees.",
    "A 6,000-strong crowd of refugees.",
    "$5bn was pledged to help refugees.",
    "One of the refugees spoke.",
    "No one fled.",
    "Refugees fled three days ago.",
    "Refugees fled for 10 hours.",
    "Article 5 protects refugees.",
    "Resolution 2623 on refugees passed.",
    "6.000 refugees crossed.",
    "The 1990s refugees returned.",
    "5G masts for refugees.",
    "Two thirds of refugees are women.",
    "Two-thirds of refugees are women.",
    "Refugees who fled were counted in 2022 660,000 times.",
    "The number of refugees rose by 12.",
    "Numbers fell 5 to 10 per cent, refugees said.",
    "Mr Podolyak met refugees.",
    "At 10.30 local time, refugees fled.",
    "Refugees fled on the 7.15 train.",
    "He fled 3 times.",
    "G7 leaders discussed refugees.",
    "",
]


@pytest.mark.parametrize("sentence", NOTHING)
def test_what_is_not_a_reading(sentence: str) -> None:
    assert find_figures(sentence, FLED) == []


def test_a_compound_adjective_is_not_a_reading_of_its_noun() -> None:
    sentence = "The 193-member United Nations General Assembly met; 141 members backed it."
    assert readings(sentence) == {"members": (141, None)}
    assert readings("the 193-member General Assembly") == {}


# (sentence, {measure: (value, qualifier)}) with several measures in play.
ATTACHED = [
    (
        "UN human rights chief Michelle Bachelet said at least 102 civilians in Ukraine have "
        "been killed since Thursday, with a further 304 wounded, but the real figure is "
        'feared to be "considerably higher".',
        {"killed": (102, "at least"), "wounded": (304, None)},
    ),
    (
        "More than half a million people have fled to neighbouring countries, according to "
        "the United Nations refugee agency.",
        {"fled": (500_000, "more than")},
    ),
    (
        "Protests were held in Russia, where almost 6,000 people have been detained at "
        "anti-war demonstrations since Thursday, the OVD-Info monitor said.",
        {"detained": (6_000, "almost")},
    ),
    (
        "at least 102 civilians killed and 304 wounded",
        {"killed": (102, "at least"), "wounded": (304, None)},
    ),
    ("Shelling killed 12 and wounded 30.", {"killed": (12, None), "wounded": (30, None)}),
    ("304 wounded and 102 killed", {"wounded": (304, None), "killed": (102, None)}),
    (
        "In Kharkiv, 12 people were killed, officials said, and 660,000 have fled the country.",
        {"killed": (12, None), "fled": (660_000, None)},
    ),
    ("Of the 3 million who have fled, 500,000 are children.", {"fled": (3_000_000, None)}),
    ("Tens of thousands were killed and 40 wounded.", {"wounded": (40, None)}),
    ("Since 2014, 13,000 were killed.", {"killed": (13_000, None)}),
    ("Dozens were killed (12 confirmed) in the strike.", {}),
    ("Another 10,000 fled, bringing the total to 660,000.", {"fled": (660_000, None)}),
    (
        "At least 352 civilians, including 14 children, have been killed.",
        {"killed": (352, "at least")},
    ),
    ("102 civilians in 3 cities have been killed.", {"killed": (102, None)}),
    ("Poland has taken in 377,000 refugees.", {"fled": (377_000, None)}),
    ("A man, 45, was killed.", {}),
    ("Refugees (about 660,000 so far) crossed.", {"fled": (660_000, "about")}),
    ("Killed: 102. Wounded: 304.", {"killed": (102, None), "wounded": (304, None)}),
]


@pytest.mark.parametrize(("sentence", "expected"), ATTACHED)
def test_cue_attachment(sentence: str, expected: dict[str, tuple[float, str | None]]) -> None:
    assert readings(sentence) == expected


def test_a_figure_keeps_its_wording_sentence_and_cue() -> None:
    sentence = "Refugees: more than half a million people have fled to neighbouring countries."
    (fig,) = find_figures(sentence, FLED)
    assert fig == Figure(
        "fled", 500_000.0, "more than", "more than half a million", sentence, "fled"
    )
    assert format_figure(fig) == "more than 500,000"


def test_measures_sharing_a_cue_both_read_it() -> None:
    specs = compile_measures((("fled", ("fled",)), ("displaced", ("fled", "displaced"))))
    found = find_figures("About 660,000 have fled.", specs)
    assert [(f.measure, f.value, f.cue) for f in found] == [
        ("fled", 660_000, "fled"),
        ("displaced", 660_000, "fled"),
    ]


def test_cues_follow_the_term_syntax() -> None:
    specs = compile_measures(
        (("fled", ("crossed the border", "refugee*")), ("aid", ("/humanitarian (aid|relief)/",)))
    )
    assert readings("660,000 have crossed the  border", specs) == {"fled": (660_000, None)}
    assert readings("660,000 refugees", specs) == {"fled": (660_000, None)}
    assert readings("660,000 crossed borders", specs) == {}
    found = find_figures("about 5,000 tonnes of humanitarian aid", specs)
    assert [(f.measure, f.value, f.unit, f.cue) for f in found] == [
        ("aid", 5_000, "tonnes", "/humanitarian (aid|relief)/")
    ]


def test_a_bad_cue_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        compile_measures((("fled", ("/(/",)),))


AID = compile_measures((("aid", ("aid",)), ("food", ("food",))))

# Money and other quantities read only right next to the cue.
MONEY = [
    ("The EU pledged $5bn in aid.", {"aid": (5e9, None, "$")}),
    ("The EU pledged €500m of aid.", {"aid": (5e8, None, "€")}),
    ("Donors gave 5 million dollars in aid.", {"aid": (5e6, None, "$")}),
    ("Donors gave more than US$2 billion aid.", {"aid": (2e9, "more than", "$")}),
    ("Aid worth £300m arrived.", {"aid": (3e8, None, "£")}),
    ("$5bn for reconstruction and aid", {}),
    ("About 5,000 tonnes of food arrived.", {"food": (5_000, "about", "tonnes")}),
    ("Food: 5,000 tonnes arrived.", {}),
    ("They drove the food 300 km.", {}),
]


@pytest.mark.parametrize(("sentence", "expected"), MONEY)
def test_money_and_units_read_only_next_to_the_cue(
    sentence: str, expected: dict[str, tuple[float, str | None, str | None]]
) -> None:
    found = find_figures(sentence, AID)
    assert {f.measure: (f.value, f.qualifier, f.unit) for f in found} == expected


def test_wording_differences_are_the_same_value() -> None:
    half = find_figures("half a million refugees", FLED)[0]
    digits = find_figures("500,000 refugees", FLED)[0]
    assert same_value(half.value, digits.value)
    assert format_figure(half) == format_figure(digits) == "500,000"


PARSED = [
    ("1.5 million", 1_500_000.0),
    ("half a million", 500_000.0),
    ("a quarter of a million", 250_000.0),
    ("a third of a million", 333_333.0),
    ("660,000", 660_000.0),
    ("6 000", 6_000.0),
    ("2bn", 2e9),
    ("twenty-five", 25.0),
    ("more than 500,000", 500_000.0),
    ("an estimated 1 million", 1_000_000.0),
    ("2022", 2022.0),
    ("0.5", 0.5),
    ("hundreds of thousands", None),
    ("40%", None),
    ("fled", None),
    ("", None),
    ("1,000,0000", None),
    ("6.000", None),
    ("01", None),
    ("102 people", None),
    ("9" * 10_000, None),
]


@pytest.mark.parametrize(("text", "value"), PARSED)
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


def fig(value: float, qualifier: str | None = None, unit: str | None = None) -> Figure:
    return Figure("m", value, qualifier, "", "", "", unit)


FORMATTED = [
    (fig(500_000, "more than"), "more than 500,000"),
    (fig(660_000), "660,000"),
    (fig(1_500_000), "1.5 million"),
    (fig(1_000_000), "1 million"),
    (fig(1_250_000, "about"), "about 1.25 million"),
    (fig(1_234_567), "1,234,567"),
    (fig(2e9), "2 billion"),
    (fig(999_999), "999,999"),
    (fig(102, "at least"), "at least 102"),
    (fig(2.5), "2.5"),
    (fig(5e9, None, "$"), "$5 billion"),
    (fig(5_000, "about", "tonnes"), "about 5,000 tonnes"),
]


@pytest.mark.parametrize(("figure", "text"), FORMATTED)
def test_format_figure(figure: Figure, text: str) -> None:
    assert format_figure(figure) == text


SAME = [
    (500_000, 500_000, True),
    (500_000, 660_000, False),
    (1_500_000, 1_501_000, True),
    (1_000_000, 1_004_000, True),
    (1_000_000, 1_006_000, False),
    (102, 103, False),
    (0, 0, True),
]


@pytest.mark.parametrize(("a", "b", "same"), SAME)
def test_same_value(a: float, b: float, same: bool) -> None:
    assert same_value(a, b) is same
    assert same_value(b, a) is same


# --- hostile input: must come back, under pytest-timeout, with a sane answer ------------------

HOSTILE = [
    ("fled " + "9" * 10_000, []),
    ("fled " + "1," * 200_000 + "1", []),
    ("fled " + "1 " * 500_000, []),
    ("fled " + "1-" * 300_000 + "1", []),
    ("fled " + "1." * 300_000 + "1", []),
    ("fled " + "a hundred and " * 50_000, [(100, None)]),
    ("fled " + "(" * 500_000, []),
    ("fled " + "-" * 1_000_000, []),
    ("hundreds of " * 100_000 + "refugees", []),
    ("more than at least almost about " * 200 + "500 refugees", [(500, "about")]),
    ("More than 660,000 people have fled. " + "x " * 500_000, [(660_000, "more than")]),
    ("x " * 500_000 + "More than 660,000 people have fled.", []),  # beyond MAX_CHARS: not read
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("sentence", "expected"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_sentences_come_back(
    sentence: str, expected: list[tuple[float, str | None]]
) -> None:
    found = find_figures(sentence, FLED)
    assert [(f.value, f.qualifier) for f in found] == expected


@pytest.mark.timeout(20)
def test_work_per_cue_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cue looks at a handful of numbers, never at all of them (no quadratic blow-up)."""
    calls = 0
    original = figures._Gaps.cost

    def counting(self: Any, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args)

    monkeypatch.setattr(figures._Gaps, "cost", counting)
    sentence = "refugees fled 5 " * (MAX_CHARS // 16)
    assert len(sentence) <= MAX_CHARS
    assert [f.value for f in find_figures(sentence, FLED)] == [5]
    cues = 2 * (MAX_CHARS // 16)
    assert calls <= cues * (2 * figures.MAX_GAP_WORDS + 2)


def test_no_number_and_no_cue_read_nothing() -> None:
    assert find_figures("Refugees fled the shelling overnight.", FLED) == []
    assert find_figures("About 660,000 people crossed.", FLED) == []
    assert find_figures("About 660,000 people fled.", []) == []
