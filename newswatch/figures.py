"""Reads the figures a topic tracks ("more than half a million people have fled") out of sentences.

Rules (SPEC 4), chosen so that a missed reading is cheaper than a false figure alert:

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
from decimal import Decimal
from itertools import accumulate

from newswatch.matching import Term

__all__ = ["Figure", "MeasureSpec", "compile_measures", "find_figures", "format_figure"]
__all__ += ["parse_number", "same_value", "MAX_CHARS", "MAX_GAP_WORDS"]

MAX_GAP_WORDS = 6
MAX_CHARS = 20_000


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
    anycase: re.Pattern[str]  # /regex/ terms, and any term when lowercasing moves offsets

    @classmethod
    def build(cls, cue: str) -> _CueTerm:
        # matching.py owns the term syntax; cues follow it exactly.
        term = Term.build(cue)
        fast = term.pattern if term.on_lowered else None
        return cls(term.text, fast, re.compile(term.pattern.pattern, re.IGNORECASE))

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


def _numbered(spec: str, start: int, step: int) -> dict[str, int]:
    return {w: step * n for n, w in enumerate(spec.split(), start)}


_SMALL = _numbered("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                   "fourteen fifteen sixteen seventeen eighteen nineteen", 0, 1)  # fmt: skip
_TENS = _numbered("twenty thirty forty fifty sixty seventy eighty ninety", 2, 10)
_BIG = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_FRACTIONS = {"half": Decimal("0.5"), "quarter": Decimal("0.25"), "quarters": Decimal("0.25"),
              "third": Decimal(1) / 3, "thirds": Decimal(1) / 3}  # fmt: skip
_SUFFIX_SCALES = {**_BIG, "k": 10**3, "m": 10**6, "mn": 10**6, "mln": 10**6, "bn": 10**9,
                  "tn": 10**12}  # fmt: skip
_WORD_SCALES = {**_BIG, "hundred": 100, "bn": 10**9, "mn": 10**6, "mln": 10**6}
_VAGUE_PLURALS = _w("tens hundreds thousands millions billions dozens scores")
_VAGUE_LEADS = _w("several few many couple numerous")
_STARTS = frozenset({*_SMALL, *_TENS, *_FRACTIONS, *_VAGUE_PLURALS, *_VAGUE_LEADS, "a", "an"})
_QUALIFIERS = {tuple(p.split()): q or None for q, ps in {
    "more than": "more than|over|above|in excess of|upwards of|just over|well over|just above|"
                 "well above|just more than|slightly more than|well more than",
    "at least": "at least|no fewer than|no less than|not less than|a minimum of",
    "almost": "almost|nearly|close to|just under|just below|just short of|approaching|not quite",
    "about": "about|around|some|approximately|roughly|an estimated|estimated|circa|approx|"
             "an approximate|in the region of|something like",
    "up to": "up to|as many as|as much as|no more than|not more than|at most|a maximum of",
    "fewer than": "fewer than|less than|under|below|just fewer than|just less than",
    "another": "another|a further|an additional|an extra",
    "": "exactly|precisely|a total of",
}.items() for p in ps.split("|")}  # fmt: skip
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
_SPACES = frozenset(" \u00a0\u202f\u2009\u2007\u200a")  # also thousands separators: "6 000"

_TOKEN = re.compile(
    r"(?P<n>[0-9]+(?:[.,][0-9]+)*)|(?P<w>[^\W0-9]+(?:['\u2019][^\W0-9]+)*)|(?P<s>[^\w\s])"
)
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?|(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_NUMBER_WORDS = frozenset(
    {*_SMALL, *_TENS, *_BIG, "hundred", "dozen", *_FRACTIONS, *_VAGUE_PLURALS}
)
_DIGIT = re.compile(r"[0-9]")
_LETTERS = re.compile(r"[a-z]+")  # on the lowercased sentence: a set test beats an alternation
_MAX_NUMBER_CHARS = 24  # about 15 digits with separators: longer is an id or garbage


class _Tokens:
    """A sentence cut into numbers ("n"), words ("w") and single symbols ("s"), with offsets."""

    __slots__ = ("end", "kind", "low", "n", "raw", "start", "text")

    def __init__(self, text: str) -> None:
        ms = list(_TOKEN.finditer(text))
        self.text, self.n = text, len(ms)
        self.kind = [m.lastgroup or "s" for m in ms]
        self.raw = [m.group() for m in ms]
        self.low = [r.lower() for r in self.raw]
        self.start = [m.start() for m in ms]
        self.end = [m.end() for m in ms]

    def w(self, i: int) -> str:
        """The lowercased word at `i`, or "" when `i` is not a word."""
        return self.low[i] if 0 <= i < self.n and self.kind[i] == "w" else ""

    def sym(self, i: int) -> str:
        return self.raw[i] if 0 <= i < self.n and self.kind[i] == "s" else ""

    def touch(self, i: int) -> bool:
        """Whether token `i` follows token `i - 1` with no space between."""
        return 0 < i < self.n and self.start[i] == self.end[i - 1]

    def glued(self, i: int) -> bool:
        """Whether the symbol at `i` is stuck to both neighbours ("193-member", "14:05")."""
        return self.touch(i) and self.touch(i + 1)


@dataclass(slots=True)
class _Expr:
    start: int  # first token; moves back over a qualifier or a currency sign
    end: int  # one past the last token
    value: Decimal | None  # None: vague or a range, which blocks but never reads
    plain: bool = False  # bare digits: no separator, decimals, scale or words
    qualifier: str | None = None
    kind: str = "count"  # count | money | unit
    unit: str | None = None
    aside: bool = False  # after "in", "including", …: reads only right before its cue


# --- reading one number -----------------------------------------------------------------------


def _numeric(t: _Tokens, i: int) -> tuple[_Expr | None, int]:
    """Digits at `i`, with "6 000"-style groups and a scale ("1.5 million", "2bn")."""
    j = i + 1  # numbers chained by one space, "-", "/" or ":" are one number or none at all
    while j < t.n:
        if t.kind[j] == "n" and t.text[t.end[j - 1] : t.start[j]] in _SPACES:
            j += 1
        elif t.sym(j) in ("-", "–", "/", ":") and t.glued(j) and t.kind[j + 1] == "n":
            j += 2
        else:
            break
    parts = t.raw[i:j]
    digits = ",".join(parts) if all(k == "n" for k in t.kind[i:j]) else ""
    mixed = len(parts) > 1 and any("," in p for p in parts)  # "6 000" or "6,000", never both
    if mixed or len(digits) > _MAX_NUMBER_CHARS or not _GROUPED.fullmatch(digits):
        return None, j
    value, plain = Decimal(digits.replace(",", "")), digits.isdigit()
    after = t.w(j)
    scale = (_SUFFIX_SCALES if t.touch(j) else _WORD_SCALES).get(after) if after else None
    if scale is None and "." in digits and "," not in digits and len(digits.split(".")[1]) == 3:
        return None, j  # "6.000": a European thousands separator or three decimals
    if scale is not None:
        return _Expr(i, j + 1, value * scale), j + 1
    return _Expr(i, j, value, plain=plain), j


def _fraction(t: _Tokens, i: int) -> _Expr | None:
    """'half a million', 'a quarter of a million', 'three-quarters of a million'."""
    j, mult = i, 1
    if t.w(j) in ("a", "an", "one", "two", "three"):
        mult = max(_SMALL.get(t.w(j), 1), 1)
        j += 1 + (t.sym(j + 1) == "-" and t.glued(j + 1))
    frac = _FRACTIONS.get(t.w(j))
    if frac is None:
        return None
    j += 1 + (t.w(j + 1) == "of")
    j += t.w(j) in ("a", "an")
    big = _BIG.get(t.w(j))
    return None if big is None else _Expr(i, j + 1, (mult * frac * big).to_integral_value())


_State = tuple[int, Decimal, int]  # total so far, the group being built, the last big scale used


def _cardinal_word(w: str, total: int, cur: Decimal, last: int) -> _State | None:
    if w in _SMALL or w in _TENS:
        v = _SMALL[w] if w in _SMALL else _TENS[w]
        if cur % 100 == 0 or (cur % 10 == 0 and cur % 100 >= 20 and v < 10):
            return total, cur + v, last
        return None
    if w in ("hundred", "dozen") and 0 < cur < 100:
        return total, cur * (100 if w == "hundred" else 12), last
    if w in _BIG and cur > 0 and _BIG[w] < last:
        return total + int(cur * _BIG[w]), Decimal(0), _BIG[w]
    return None


def _joiner(t: _Tokens, j: int) -> int:
    """How many tokens at `j` join parts of one cardinal: "twenty-five", "a hundred and two"."""
    prev, nxt = t.w(j - 1), t.w(j + 1)
    if t.sym(j) == "-":
        return int(t.glued(j) and prev in _TENS and 0 < _SMALL.get(nxt, 0) < 10)
    if t.w(j) != "and":
        return 0
    if nxt == "a" and t.w(j + 2) == "half" and t.w(j + 3) in _BIG:
        return 3  # "one and a half million": the caller adds the half
    return int((prev == "hundred" or prev in _BIG) and (nxt in _SMALL or nxt in _TENS))


def _cardinal(t: _Tokens, i: int) -> _Expr | None:
    """'six thousand', 'twenty-five', 'a hundred and two', 'one and a half million', 'a dozen'."""
    total, cur, last, j = 0, Decimal(0), 10**15, i
    if t.w(i) in ("a", "an"):
        if t.w(i + 1) not in ("hundred", "dozen", *_BIG):
            return None
        cur, j = Decimal(1), i + 1
    end, value = i, Decimal(0)
    while True:
        if (state := _cardinal_word(t.w(j), total, cur, last)) is not None:
            (total, cur, last), j = state, j + 1
            end, value = j, total + cur
        elif end > i and (skip := _joiner(t, j)):
            cur += Decimal("0.5") if skip == 3 else 0
            j += skip
        else:
            return _Expr(i, end, value) if end > i else None


def _vague(t: _Tokens, i: int) -> _Expr | None:
    """'hundreds of thousands', 'dozens', 'several thousand', 'a few hundred'."""
    j = i + (t.w(i) == "a" and t.w(i + 1) in ("few", "couple"))
    if t.w(j) in _VAGUE_LEADS:
        j += 1 + (t.w(j + 1) == "of")
        if t.w(j).rstrip("s") not in ("hundred", "dozen", *_BIG):
            return None
    elif t.w(j) not in _VAGUE_PLURALS:
        return None
    j += 1
    while t.w(j) == "of" and t.w(j + 1) in _VAGUE_PLURALS:
        j += 2
    return _Expr(i, j, None)


def _raw_at(t: _Tokens, i: int) -> tuple[_Expr | None, int]:
    """The number written at token `i`, before any context, and where scanning goes on."""
    if t.kind[i] == "n":
        return _numeric(t, i)
    if t.kind[i] != "w" or t.low[i] not in _STARTS:
        return None, i + 1
    e = _fraction(t, i) or _cardinal(t, i) or _vague(t, i)
    return e, (e.end if e else i + 1)


# --- context: is that number a reading? -------------------------------------------------------


def _attach_unit(t: _Tokens, e: _Expr) -> None:
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


def _not_a_count(t: _Tokens, e: _Expr) -> bool:
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


def _is_date_time_or_age(t: _Tokens, e: _Expr) -> bool:
    s, j, value = e.start, e.end, e.value or 0
    if e.end == s + 1 and "." in t.raw[s]:
        return True  # a head count is whole: "at 10.30", "the 7.15 train", "a 2.5 rating"
    if e.plain and value <= 120 and t.sym(s - 1) == t.sym(j) == "," and t.w(s - 2):
        return True  # "A man, 45, was killed"
    before = s - 1 - (t.sym(s - 1) == ".")  # "Feb. 28"
    months = any(0 <= k < t.n and t.raw[k] in _MONTHS for k in (j, before))
    return e.plain and 1 <= value <= 31 and months


def _qualifier_before(t: _Tokens, i: int) -> tuple[int, str | None] | None:
    for s in range(max(i - 4, 0), i):
        key = tuple(t.low[s:i])
        if key in _QUALIFIERS and all(k == "w" for k in t.kind[s:i]):
            if key == ("up", "to") and t.w(s - 1) in _RISE_VERBS:
                return None  # "went up to 660,000" is a rise, not a ceiling
            return s, _QUALIFIERS[key]
    return None


def _post_qualifier(t: _Tokens, e: _Expr) -> str | None:
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


def _range_end(t: _Tokens, e: _Expr) -> int | None:
    """End of "10 to 15", "one or two", "between 10 and 15" starting at `e`, else None."""
    joiner = t.w(e.end)
    if joiner in ("to", "or") or (joiner == "and" and t.w(e.start - 1) == "between"):
        other, _ = _raw_at(t, e.end + 1) if e.end + 1 < t.n else (None, 0)
        return other.end if other is not None else None
    return None


def _reading_at(t: _Tokens, i: int) -> tuple[_Expr | None, int]:
    """The candidate reading at token `i` (a vague one has no value) and where to go on."""
    e, nxt = _raw_at(t, i)
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
        return _Expr(start, end, None), end
    e.qualifier = q[1] if q else _post_qualifier(t, e)
    lone_one = e.end == e.start + 1 and t.low[e.start] == "one"
    year = e.plain and q is None and len(t.raw[e.start]) == 4 and 1900 <= e.value <= 2100
    if lone_one or (year and e.kind == "count"):
        return None, e.end
    e.start, e.aside = start, t.w(start - 1) in _ASIDE
    return e, e.end


def _candidates(t: _Tokens) -> list[_Expr]:
    found: list[_Expr] = []
    i = 0
    while i < t.n:
        if t.kind[i] != "n" and t.low[i] not in _STARTS:
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

    def __init__(self, t: _Tokens) -> None:
        self.words = list(accumulate((k != "s" for k in t.kind), initial=0))
        self.commas = list(accumulate((r in _SOFT_STOPS for r in t.raw), initial=0))
        self.conj = list(accumulate((w in _CONJUNCTIONS for w in t.low), initial=0))
        stops = (r in _HARD_STOPS or (r == "-" and not t.glued(k)) for k, r in enumerate(t.raw))
        self.hard = list(accumulate(stops, initial=0))

    def cost(self, t: _Tokens, e: _Expr, a: int, b: int) -> tuple[bool, int, int, int] | None:
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

    def near(self, cands: list[_Expr], ends: list[int], a: int, b: int) -> list[int]:
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


def _choose(t: _Tokens, cands: list[_Expr], cues: list[_Cue]) -> dict[int, tuple[int, str]]:
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


def _cue_tokens(t: _Tokens, found: list[_Cue]) -> list[_Cue]:
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
    if _DIGIT.search(text) is None and _NUMBER_WORDS.isdisjoint(_LETTERS.findall(low)):
        return []
    found = [
        (m, c.text, a, b)
        for m, s in enumerate(specs)
        for c in s.cues
        for a, b in c.spans(text, low)
    ]
    if not found:
        return []
    t = _Tokens(text)
    cues = _cue_tokens(t, found)
    cands = _candidates(t) if cues else []
    figures = []
    for m, (k, cue) in sorted(_choose(t, cands, cues).items() if cands else []):
        e = cands[k]
        written = text[t.start[e.start] : t.end[e.end - 1]]
        value = float(e.value or 0)
        figures.append(Figure(specs[m].name, value, e.qualifier, written, sentence, cue, e.unit))
    return figures


def parse_number(text: str) -> float | None:
    """The number a phrase writes ("1.5 million", "more than half a million"), else None.

    The whole phrase must be one number, after an optional qualifier; a vague quantity
    ("hundreds of thousands") or any word left over gives None.
    """
    t = _Tokens(text.strip()[:MAX_CHARS])
    for s in range(min(5, t.n)):
        if s == 0 or tuple(t.low[:s]) in _QUALIFIERS:
            e, _ = _raw_at(t, s)
            if e is not None and e.value is not None and e.end == t.n:
                return float(e.value)
    return None


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
