"""Reads the figures a topic tracks ("more than half a million people have fled") out of sentences.

numbers.py reads how each number is written; here the sentence around it decides whether it is
a reading, and of which measure. The rules (SPEC 4) are chosen so that a missed reading is
cheaper than a false figure alert:

- A reading is a number with at most MAX_GAP_WORDS (6) words between it and a cue term of the
  measure, either side, in one clause: ``; ( ) — – . ? !`` and a spaced hyphen stop the search.
  A comma or a colon costs 2 words ("Refugees: 660,000"), a conjunction ("and", "but", …) 1;
  the cheapest pair wins, on a tie the number before the cue ("304 wounded"). One reading per
  measure per sentence; a number serves one measure (or those sharing the cue occurrence).
- Vague quantities ("hundreds of thousands", "dozens", "several thousand") and ranges ("10 to 15",
  "between 500,000 and 600,000", "one or two") never read, yet still count as the nearest number:
  "Tens of thousands fled as 40 buses arrived" reads nothing rather than 40.
- Money ("$5bn", "5 million dollars") and quantities with a unit ("5,000 tonnes") read only next
  to the cue: nothing between, or one of "in", "of", "for", "worth" ("$5bn in aid"); a unit
  quantity must come before its cue.
- Never read, and block nothing: years (bare 1900–2100 without a qualifier), dates
  ("28 February"), times ("14:05", "9 am"), durations ("three days"), percentages, ordinals
  ("2nd"; "fifth" is no number at all), ids and versions ("v2", "1.2.3", "F-16", "01"), phone-like
  or badly grouped digit runs ("2022 660,000" too), labels ("Article 5", "No. 10"), compound
  adjectives ("the 193-member Assembly"), a lone "one", the old side or the size of a change
  ("up from 500,000", "rose by 12"), "6.000" (ambiguous), "two thirds of".
- Qualifiers are normalised ("over" → "more than", "nearly" → "almost", "an estimated" → "about",
  "less than" → "fewer than", "as many as" → "up to"); the one nearest the number wins.
  "another"/"a further" is "another" (an increment, not a total) unless an earlier number in
  the sentence makes it a list ("102 killed, with a further 304 wounded": 304, no qualifier).
- Only the first MAX_CHARS characters of a sentence are read: a longer one is a failed split.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from newswatch.matching import LinearRegex, Term
from newswatch.numbers import (
    MAX_CHARS,
    NUMBER_WORDS,
    QUALIFIERS,
    STARTS,
    Expr,
    Tokens,
    number_at,
    parse_number,
)

__all__ = ["Figure", "MeasureSpec", "compile_measures", "find_figures", "format_figure"]
__all__ += ["parse_number", "same_value", "MAX_CHARS", "MAX_GAP_WORDS"]

MAX_GAP_WORDS = 6


@dataclass(frozen=True, slots=True)
class Figure:
    """One reading of a measure in one sentence."""

    measure: str
    value: float
    qualifier: str | None  # normalised: "more than", "at least", "almost", "about", …
    text: str  # as written, qualifier included: "more than half a million"
    sentence: str
    cue: str  # the cue term as the config spells it
    unit: str | None = None  # "$", "€", "tonnes", …; None for a head count


@dataclass(frozen=True, slots=True)
class _CueTerm:
    text: str  # as the config spells it
    lowered: re.Pattern[str] | None  # word and phrase terms, searched in the lowercased sentence
    anycase: re.Pattern[str] | LinearRegex  # /regex/ terms, or when lowercasing moves offsets

    @classmethod
    def build(cls, cue: str) -> _CueTerm:
        # matching.py owns the term syntax; cues follow it exactly.
        term = Term.build(cue)
        if isinstance(term.pattern, LinearRegex):
            return cls(term.text, None, term.pattern)
        return cls(term.text, term.pattern, re.compile(term.pattern.pattern, re.IGNORECASE))

    def spans(self, text: str, low: str) -> list[tuple[int, int]]:
        if self.lowered is not None and len(low) == len(text):  # lowered ~5x faster (measured)
            return [m.span() for m in self.lowered.finditer(low)]
        return [m.span() for m in self.anycase.finditer(text)]


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """A measure and its cue terms, compiled once."""

    name: str
    cues: tuple[_CueTerm, ...]

    @classmethod
    def build(cls, name: str, cues: Sequence[str]) -> MeasureSpec:
        return cls(name, tuple(_CueTerm.build(c) for c in dict.fromkeys(c.strip() for c in cues)))


def compile_measures(measures: tuple[tuple[str, tuple[str, ...]], ...]) -> list[MeasureSpec]:
    """Compile a topic's measures once; ValueError on a bad cue term."""
    return [MeasureSpec.build(name, cues) for name, cues in measures]


def _w(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


_POST_QUALIFIERS = {("or", "more"): "at least", ("or", "so"): "about", ("or", "fewer"): "up to",
                    ("or", "less"): "up to", ("-", "plus"): "more than",
                    ("-", "odd"): "about"}  # fmt: skip
_RISE_VERBS = _w("went gone go goes going rose risen rise rises shot jumped climbed crept")
_CHANGE_MARKERS = {("from",), ("by",), ("versus",), ("vs",), ("compared", "with"),
                   ("compared", "to")}  # fmt: skip
_CURRENCY_SIGNS = frozenset("$€£¥₽₴₹")
_CURRENCY_CODES = {"usd": "$", "eur": "€", "gbp": "£"}
_CURRENCY_WORDS = {"dollars": "$", "dollar": "$", "euros": "€", "euro": "€", "yen": "¥",
                   "roubles": "roubles", "rubles": "roubles", "hryvnias": "hryvnias"}  # fmt: skip
_UNITS = _w("km kilometres kilometers miles metres meters kg kilograms kilogrammes tonnes tons "
            "pounds litres liters barrels acres hectares")  # fmt: skip
_LINKS = _w("in of for worth")
_NOT_AFTER = _w("second seconds minute minutes hour hours day days week weeks month months year "
                "years decade decades century centuries night nights percent pc pct percentage am "
                "pm gmt bst utc cet cest eet eest hrs local o'clock o’clock halves thirds quarters "
                "fifths tenths times")  # fmt: skip  # durations, percentages, times, fractions
_LABELS = _w("article articles resolution chapter section paragraph clause flight route no "
             "room gate platform page version phase stage level category class model type tier "
             "block floor district zone sector row seat aged age day week")  # fmt: skip
_MONTHS = _w("January February March April May June July August September October November "
             "December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec")  # fmt: skip
_HARD_STOPS = frozenset(";{}—–―|•?!….")
_SOFT_STOPS = frozenset(",:()[]")  # cost like two words: "Refugees: 660,000", "(660,000)"
_ASIDE = _w("in across within including into per")  # "in 3 cities", "including 14 children"
_CONJUNCTIONS = _w("and but while whereas although though or as")
_DIGIT = re.compile(r"[0-9]")
_LETTERS = re.compile(r"[a-z]+")  # on the lowercased sentence: a set test beats an alternation


# --- context: is that number a reading? -------------------------------------------------------


def _attach_unit(t: Tokens, e: Expr) -> None:
    """Money and other quantities: "$5bn", "US$5bn", "EUR 5m", "5 million dollars", "10km"."""
    after, s = t.w(e.end), e.start
    if after in _CURRENCY_WORDS or after in _UNITS:
        e.kind = "money" if after in _CURRENCY_WORDS else "unit"
        e.unit, e.end = _CURRENCY_WORDS.get(after, after), e.end + 1
    if t.sym(s - 1) in _CURRENCY_SIGNS and t.touch(s):
        prefixed = t.touch(s - 1) and bool(t.w(s - 2))  # "US$5bn"
        e.kind, e.unit, e.start = "money", t.raw[s - 1], s - 1 - prefixed
    elif t.w(s - 1) in _CURRENCY_CODES:
        e.kind, e.unit, e.start = "money", _CURRENCY_CODES[t.w(s - 1)], s - 1


def _not_a_count(t: Tokens, e: Expr) -> bool:
    """Ids, phones, labels, percentages, times, durations, compound adjectives, dates."""
    s, j, after = e.start, e.end, t.w(e.end)
    if t.touch(s) and (t.kind[s - 1] == "w" or t.raw[s - 1] in "+#-−№"):
        return True  # "v2", "MH17", "F-16", "+353", "#10", "-5"
    if e.plain and (t.w(s - 1) in _LABELS or (t.sym(s - 1) == "." and t.w(s - 2) == "no")):
        return True  # "Article 5", "Resolution 2623", "No. 10"
    if (after and t.touch(j)) or after in _NOT_AFTER or t.sym(j) == "%":
        return True  # "2nd", "9am", "1990s", "5G"; "three days", "40 percent", "9 pm"
    if (after, t.w(j + 1)) == ("per", "cent") or (after in ("a", "p") and t.sym(j + 1) == "."):
        return True  # "40 per cent", "9 a.m."
    if t.sym(j) == "-" and t.glued(j) and t.w(j + 1) not in ("plus", "odd"):
        return True  # "193-member", "three-day", "6,000-strong"
    return e.kind == "count" and _is_date_time_or_age(t, e)


def _is_date_time_or_age(t: Tokens, e: Expr) -> bool:
    s, j, value = e.start, e.end, e.value or 0
    if e.end == s + 1 and "." in t.raw[s]:
        return True  # a head count is whole: "at 10.30", "the 7.15 train", "a 2.5 rating"
    if e.plain and value <= 120 and t.sym(s - 1) == t.sym(j) == "," and t.w(s - 2):
        return True  # "A man, 45, was killed"
    before = s - 1 - (t.sym(s - 1) == ".")  # "Feb. 28"
    months = any(0 <= k < t.n and t.raw[k] in _MONTHS for k in (j, before))
    return e.plain and 1 <= value <= 31 and months


def _qualifier_before(t: Tokens, i: int) -> tuple[int, str | None] | None:
    for s in range(max(i - 4, 0), i):
        key = tuple(t.low[s:i])
        if key in QUALIFIERS and all(k == "w" for k in t.kind[s:i]):
            if key == ("up", "to") and t.w(s - 1) in _RISE_VERBS:
                return None  # "went up to 660,000" is a rise, not a ceiling
            return s, QUALIFIERS[key]
    return None


def _post_qualifier(t: Tokens, e: Expr) -> str | None:
    """A qualifier written after the number: "6,000 or more", "6,000-plus", "6,000+"."""
    j = e.end
    pair = (t.w(j) or t.sym(j), t.w(j + 1))
    if pair in _POST_QUALIFIERS and (pair[0] != "-" or t.glued(j)):
        e.end = j + 2
        return _POST_QUALIFIERS[pair]
    if t.sym(j) == "+" and t.touch(j):
        e.end = j + 1
        return "more than"
    return None


def _range_end(t: Tokens, e: Expr) -> int | None:
    """End of "10 to 15", "one or two", "between 10 and 15" starting at `e`, else None."""
    joiner = t.w(e.end)
    if joiner in ("to", "or") or (joiner == "and" and t.w(e.start - 1) == "between"):
        other, _ = number_at(t, e.end + 1) if e.end + 1 < t.n else (None, 0)
        return other.end if other is not None else None
    return None


def _reading_at(t: Tokens, i: int) -> tuple[Expr | None, int]:
    """The candidate reading at token `i` (a vague one has no value) and where to go on."""
    e, nxt = number_at(t, i)
    if e is None or e.value is None:
        return e, nxt
    _attach_unit(t, e)
    if _not_a_count(t, e):
        return None, max(nxt, e.end)
    q = _qualifier_before(t, e.start)
    start = q[0] if q else e.start
    if (t.w(start - 1),) in _CHANGE_MARKERS or (t.w(start - 2), t.w(start - 1)) in _CHANGE_MARKERS:
        return None, e.end
    if (end := _range_end(t, e)) is not None:
        return Expr(start, end, None), end
    e.qualifier = q[1] if q else _post_qualifier(t, e)
    lone_one = e.end == e.start + 1 and t.low[e.start] == "one"
    year = e.plain and q is None and len(t.raw[e.start]) == 4 and 1900 <= e.value <= 2100
    if lone_one or (year and e.kind == "count"):
        return None, e.end
    e.start, e.aside = start, t.w(start - 1) in _ASIDE
    return e, e.end


def _candidates(t: Tokens) -> list[Expr]:
    found: list[Expr] = []
    i = 0
    while i < t.n:
        if t.kind[i] != "n" and t.low[i] not in STARTS:
            i += 1
            continue
        e, nxt = _reading_at(t, i)
        i = max(nxt, i + 1)
        if e is None:
            continue
        if found:
            e.start = max(e.start, found[-1].end)  # keeps them ordered and disjoint
            if e.qualifier == "another" and any(f.value is not None for f in found[-3:]):
                e.qualifier = None  # "102 killed, with a further 304 wounded" lists, not adds
        found.append(e)
    return found


# --- attaching numbers to cues ----------------------------------------------------------------


class _Gaps:
    """Prefix counts over the tokens, so the stretch between a number and a cue costs O(1)."""

    __slots__ = ("commas", "conj", "hard", "words")

    def __init__(self, t: Tokens) -> None:
        self.words = list(accumulate((k != "s" for k in t.kind), initial=0))
        self.commas = list(accumulate((r in _SOFT_STOPS for r in t.raw), initial=0))
        self.conj = list(accumulate((w in _CONJUNCTIONS for w in t.low), initial=0))
        stops = (r in _HARD_STOPS or (r == "-" and not t.glued(k)) for k, r in enumerate(t.raw))
        self.hard = list(accumulate(stops, initial=0))

    def cost(self, t: Tokens, e: Expr, a: int, b: int) -> tuple[bool, int, int, int] | None:
        """The sort key of reading `e` for the cue on tokens a..b; None when out of reach.

        An increment ("another 10,000") loses to any total in reach, then fewer words win,
        then the number before the cue.
        """
        before, after = e.end <= a, e.start >= b
        lo, hi, side = (e.end, a, 0) if before else (b, e.start, 1) if after else (0, 0, 0)
        words = self.words[hi] - self.words[lo]
        if words > MAX_GAP_WORDS or self.hard[hi] > self.hard[lo]:
            return None
        if e.aside and (hi > lo or side):
            return None  # "102 civilians in 3 cities were killed", yet "took in 377,000 refugees"
        if e.kind != "count":  # money and units only read right next to the cue
            linked = hi == lo or (hi - lo == 1 and t.w(lo) in _LINKS)
            if not linked or (e.kind == "unit" and side == 1):
                return None
        penalty = 2 * (self.commas[hi] - self.commas[lo]) + self.conj[hi] - self.conj[lo]
        return e.qualifier == "another", words + penalty, side, words

    def near(self, cands: list[Expr], ends: list[int], a: int, b: int) -> list[int]:
        """Indices of the candidates within MAX_GAP_WORDS words of the cue on tokens a..b."""
        k0 = bisect_left(ends, a + 1)
        out, k = [], k0 - 1
        while k >= 0 and self.words[a] - self.words[cands[k].end] <= MAX_GAP_WORDS:
            out.append(k)
            k -= 1
        k = k0
        while k < len(cands) and self.words[cands[k].start] - self.words[b] <= MAX_GAP_WORDS:
            out.append(k)
            k += 1
        return out


_Cue = tuple[int, str, int, int]  # measure index, cue as configured, first token, end token


def _choose(t: Tokens, cands: list[Expr], cues: list[_Cue]) -> dict[int, tuple[int, str]]:
    """Measure index → (candidate, cue): the cheapest pairs first, one number per measure."""
    gaps, ends = _Gaps(t), [c.end for c in cands]
    options = []
    for m, cue, a, b in cues:
        for k in gaps.near(cands, ends, a, b):
            if (cost := gaps.cost(t, cands[k], a, b)) is not None:
                options.append((cost, m, k, cue, a))
    options.sort()
    chosen: dict[int, tuple[int, str]] = {}
    taken: dict[int, int] = {}  # candidate → the cue occurrence that took it
    for _, m, k, cue, a in options:
        if m not in chosen and taken.get(k, a) == a:
            chosen[m] = (k, cue)
            if cands[k].value is not None:  # a vague number blocks every cue near it
                taken[k] = a
    return {m: v for m, v in chosen.items() if cands[v[0]].value is not None}


def _cue_tokens(t: Tokens, found: list[_Cue]) -> list[_Cue]:
    """Character spans of cues → token spans."""
    spans = [(m, c, bisect_left(t.end, a + 1), bisect_left(t.start, b)) for m, c, a, b in found]
    return [span for span in spans if span[2] < span[3]]


# --- public -----------------------------------------------------------------------------------


def find_figures(sentence: str, specs: Sequence[MeasureSpec]) -> list[Figure]:
    """The readings of `specs` in one sentence, at most one per measure, in measure order."""
    text = sentence
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS)  # never cut a number in two
        text = text[: cut if cut > 0 else MAX_CHARS]
    low = text.lower()
    if _DIGIT.search(text) is None and NUMBER_WORDS.isdisjoint(_LETTERS.findall(low)):
        return []
    found = [
        (m, c.text, a, b)
        for m, s in enumerate(specs)
        for c in s.cues
        for a, b in c.spans(text, low)
    ]
    if not found:
        return []
    t = Tokens(text)
    cues = _cue_tokens(t, found)
    cands = _candidates(t) if cues else []
    figures = []
    for m, (k, cue) in sorted(_choose(t, cands, cues).items() if cands else []):
        e = cands[k]
        written = text[t.start[e.start] : t.end[e.end - 1]]
        value = float(e.value or 0)
        figures.append(Figure(specs[m].name, value, e.qualifier, written, sentence, cue, e.unit))
    return figures


def _scaled(value: float, scale: float, name: str) -> str | None:
    hundredths = value / scale * 100
    if value < scale or abs(hundredths - round(hundredths)) > 1e-6:
        return None
    return f"{value / scale:.2f}".rstrip("0").rstrip(".") + " " + name


def format_figure(fig: Figure) -> str:
    """'more than 660,000', '1.5 million', '$5 billion', 'about 5,000 tonnes'."""
    v = float(fig.value)
    number = _scaled(v, 1e9, "billion") or _scaled(v, 1e6, "million")
    if number is None:
        number = f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
    if fig.unit:
        number = f"{number} {fig.unit}" if fig.unit[0].isalpha() else fig.unit + number
    return f"{fig.qualifier} {number}" if fig.qualifier else number


def same_value(a: float, b: float) -> bool:
    """Whether two readings say the same: equal within 0.5%, the rounding of news wording."""
    return math.isclose(a, b, rel_tol=0.005)
