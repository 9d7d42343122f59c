"""Reads the number written at a point of a sentence ("1.5 million", "half a million", "6 000").

Only how a number is written is judged here; whether it is a reading of a measure (not a year, a
date, a label or a range, and near which cue) is for figures.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Expr", "Tokens", "number_at", "parse_number"]
__all__ += ["MAX_CHARS", "NUMBER_WORDS", "QUALIFIERS", "STARTS"]

MAX_CHARS = 20_000  # a longer sentence is a failed split: only its start is read


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
_VAGUE_PLURALS = frozenset({"tens", "hundreds", "thousands", "millions", "billions", "dozens",
                            "scores"})  # fmt: skip
_VAGUE_LEADS = frozenset({"several", "few", "many", "couple", "numerous"})
# The words a written number can begin with; any other word is skipped unread.
STARTS = frozenset({*_SMALL, *_TENS, *_FRACTIONS, *_VAGUE_PLURALS, *_VAGUE_LEADS, "a", "an"})
# Words before a number → the qualifier they normalise to (None: an explicit exact value).
QUALIFIERS = {tuple(p.split()): q or None for q, ps in {
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
_SPACES = frozenset(" \u00a0\u202f\u2009\u2007\u200a")  # also thousands separators: "6 000"

_TOKEN = re.compile(
    r"(?P<n>[0-9]+(?:[.,][0-9]+)*)|(?P<w>[^\W0-9]+(?:['\u2019][^\W0-9]+)*)|(?P<s>[^\w\s])"
)
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?|(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
# A sentence with no digit and none of these words holds no number: the cheap first test.
NUMBER_WORDS = frozenset({*_SMALL, *_TENS, *_BIG, "hundred", "dozen", *_FRACTIONS, *_VAGUE_PLURALS})
_MAX_NUMBER_CHARS = 24  # about 15 digits with separators: longer is an id or garbage


class Tokens:
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
class Expr:
    """A number found at some tokens; figures.py fills in what its context says about it."""

    start: int  # first token; moves back over a qualifier or a currency sign
    end: int  # one past the last token
    value: Decimal | None  # None: vague or a range, which blocks but never reads
    plain: bool = False  # bare digits: no separator, decimals, scale or words
    qualifier: str | None = None
    kind: str = "count"  # count | money | unit
    unit: str | None = None
    aside: bool = False  # after "in", "including", …: reads only right before its cue


def _numeric(t: Tokens, i: int) -> tuple[Expr | None, int]:
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
        return Expr(i, j + 1, value * scale), j + 1
    return Expr(i, j, value, plain=plain), j


def _fraction(t: Tokens, i: int) -> Expr | None:
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
    return None if big is None else Expr(i, j + 1, (mult * frac * big).to_integral_value())


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


def _joiner(t: Tokens, j: int) -> int:
    """How many tokens at `j` join parts of one cardinal: "twenty-five", "a hundred and two"."""
    prev, nxt = t.w(j - 1), t.w(j + 1)
    if t.sym(j) == "-":
        return int(t.glued(j) and prev in _TENS and 0 < _SMALL.get(nxt, 0) < 10)
    if t.w(j) != "and":
        return 0
    if nxt == "a" and t.w(j + 2) == "half" and t.w(j + 3) in _BIG:
        return 3  # "one and a half million": the caller adds the half
    return int((prev == "hundred" or prev in _BIG) and (nxt in _SMALL or nxt in _TENS))


def _cardinal(t: Tokens, i: int) -> Expr | None:
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
            return Expr(i, end, value) if end > i else None


def _vague(t: Tokens, i: int) -> Expr | None:
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
    return Expr(i, j, None)


def number_at(t: Tokens, i: int) -> tuple[Expr | None, int]:
    """The number written at token `i`, before any context, and where scanning goes on."""
    if t.kind[i] == "n":
        return _numeric(t, i)
    if t.kind[i] != "w" or t.low[i] not in STARTS:
        return None, i + 1
    e = _fraction(t, i) or _cardinal(t, i) or _vague(t, i)
    return e, (e.end if e else i + 1)


def parse_number(text: str) -> float | None:
    """The number a phrase writes ("1.5 million", "more than half a million"), else None.

    The whole phrase must be one number, after an optional qualifier; a vague quantity
    ("hundreds of thousands") or any word left over gives None.
    """
    t = Tokens(text.strip()[:MAX_CHARS])
    for s in range(min(5, t.n)):
        if s == 0 or tuple(t.low[:s]) in QUALIFIERS:
            e, _ = number_at(t, s)
            if e is not None and e.value is not None and e.end == t.n:
                return float(e.value)
    return None
