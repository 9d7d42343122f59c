"""Text → stable word shingles: the normalisation both "new on this URL?" and "same story?" use.

Normalised: NFKC, casefolded, apostrophes dropped, words are Unicode letter/digit runs, clock
times and numeric dates replaced by placeholders and time-stamp runs removed, so a changed time
stamp or an "Updated 14:05" line leaves no trace. Hashes are stable across processes and
machines (no salted ``hash()``): shingles can be stored and compared later. Changing the
normalisation or the hash changes them all; :data:`VERSION` names the scheme.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

VERSION = 1
SHINGLE_SIZE = 3
_MASK = (1 << 64) - 1

# --- normalisation ---------------------------------------------------------------------------

_DATE_PH = "DATE"  # upper case cannot occur in casefolded text, so placeholders never collide
_TIME_PH = "TIME"
_PLACEHOLDERS = frozenset((_DATE_PH, _TIME_PH))
# Apostrophes join ("Kyiv's" -> "kyivs"); an underscore separates words like punctuation does.
_FOLD = str.maketrans(
    {"'": None, "\u2018": None, "\u2019": None, "\u02bc": None, "\u2032": None, "_": " "}
)
_ZONES = "gmt|utc|bst|cet|cest|eet|eest|msk|est|edt|cst|cdt|pst|pdt"
_TZ = rf"(?:\s*(?:{_ZONES})\b(?:\s*[+-]\s*\d{{1,2}}(?::?\d{{2}})?)?)"
_AMPM = r"\s*[ap]\.?m\b\.?"
# One pass finds dates (ISO 8601, 24/02/2022, 24.02.2022, 2022/02/24) and clock times ("14:05",
# "14:05:30", "14h05", "2:05pm", "2 p.m.", "2.05pm", "14.05 GMT"; a bare "14.05" may be a price
# or a score, so the dotted form needs am/pm or a zone). Every branch starts with the digit the
# look-behind proves to be a word start, which lets the engine skip to digits: 4x faster than
# a leading \b.
_STAMP = re.compile(
    r"\d(?<!\w\d)(?:"
    r"(?P<date>\d{3}-\d{2}-\d{2}(?:t\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?\b"
    r"|\d?[/.]\d{1,2}[/.]\d{2,4}\b|\d{3}/\d{1,2}/\d{1,2}\b)"
    rf"|\d?(?::\d{{2}}(?::\d{{2}})?|h\d{{2}})\b(?:{_AMPM})?{_TZ}?"
    rf"|\d?(?:\.\d{{2}})?{_AMPM}{_TZ}?"
    rf"|\d?\.\d{{2}}{_TZ}"
    r")"
)
_WORD = re.compile(r"\w+")
_ORDINAL = re.compile(r"\d{1,2}(?:st|nd|rd|th)")
_STAMP_TEXT = (
    "updated update last published posted modified edited first at on am pm local time"
    " gmt utc bst cet cest eet eest msk est edt cst cdt pst pdt"
    " january february march april may june july august september october november december"
    " jan feb mar apr jun jul aug sep sept oct nov dec"
    " monday tuesday wednesday thursday friday saturday sunday"
    " mon tue tues wed thu thur thurs fri sat sun"
)
_STAMP_WORDS = frozenset(_STAMP_TEXT.split())


def _placeholder(match: re.Match[str]) -> str:
    return f" {_DATE_PH} " if match.group("date") else f" {_TIME_PH} "


def _is_stamp(token: str) -> bool:
    return (
        token in _STAMP_WORDS
        or token in _PLACEHOLDERS
        or (token.isdigit() and len(token) <= 4)
        or _ORDINAL.fullmatch(token) is not None
    )


def tokens(text: str) -> list[str]:
    """Casefolded word tokens with dates and times as placeholders and time-stamp runs dropped.

    A run of date/time words that contains an actual clock time or numeric date ("Updated 25
    February 2022, 14:05 GMT", "at 05:00 on Thursday") is removed, so an "Updated" line or a
    changed time stamp leaves no trace; a text made of such words only ("Updated", "On
    Thursday") has no tokens at all.
    """
    folded = _STAMP.sub(
        _placeholder, unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    )
    tokens = _WORD.findall(folded)
    if all(_is_stamp(t) for t in tokens):
        return []
    if _DATE_PH not in folded and _TIME_PH not in folded:
        return tokens
    kept: list[str] = []
    run: list[str] = []
    for token in [*tokens, "."]:  # the sentinel flushes the last run
        if _is_stamp(token):
            run.append(token)
            continue
        if not _PLACEHOLDERS.intersection(run):
            kept.extend(run)
        run.clear()
        kept.append(token)
    return kept[:-1]


# News reuses a small vocabulary, so each word's blake2b is computed once per process; the cap
# only bounds memory in a long-running server (clearing costs nothing but recomputation).
_TOKEN_HASHES: dict[str, int] = {}
_TOKEN_CACHE_MAX = 200_000
_POLY = 0x9E3779B97F4A7C15  # odd, so each step of the polynomial is a bijection mod 2**64


def _token_hash(token: str) -> int:
    found = _TOKEN_HASHES.get(token)
    if found is None:
        if len(_TOKEN_HASHES) >= _TOKEN_CACHE_MAX:
            _TOKEN_HASHES.clear()
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        found = _TOKEN_HASHES[token] = int.from_bytes(digest, "little")
    return found


def window_hashes(words: Sequence[str], k: int) -> list[int]:
    """Hash of every k-word window in order; the words' own hashes when there are fewer than k.

    A window (w1 .. wk) hashes to the polynomial h(w1)*P**(k-1) + ... + h(wk) mod 2**64 over
    the words' blake2b-64 values: order-sensitive, stable, and two distinct windows collide
    with probability about 2**-64, at a fraction of the cost of one blake2b per window.
    """
    hashed = [_token_hash(w) for w in words]
    if len(hashed) < k:
        return hashed
    acc = hashed[: len(hashed) - k + 1]
    for offset in range(1, k):
        acc = [(a * _POLY + b) & _MASK for a, b in zip(acc, hashed[offset:], strict=False)]
    return acc


def check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"shingle size must be at least 1, got {k}")


def shingles(text: str, k: int = SHINGLE_SIZE) -> frozenset[int]:
    """Stable 64-bit hashes of the k-word shingles of normalised text (see :func:`tokens`).

    A text of fewer than k words gives its words.
    """
    check_k(k)
    return frozenset(window_hashes(tokens(text), k))


def article_shingles(paragraphs: Iterable[str], k: int = SHINGLE_SIZE) -> frozenset[int]:
    """Union of the paragraphs' shingles: what "seen on this URL" or "this story's text" holds.

    Paragraphs are shingled one by one, so reordering them changes nothing.
    """
    check_k(k)
    found: set[int] = set()
    for paragraph in paragraphs:
        found.update(window_hashes(tokens(paragraph), k))
    return frozenset(found)
