"""Near-duplicate arithmetic for detection: word shingles, paragraph novelty, MinHash and LSH keys.

Two questions, both answered without I/O:

- *Is this paragraph of a page really new, or a cosmetic edit of text seen on that URL before?*
  :func:`shingles` turns text into hashed 3-word shingles after normalising case, punctuation,
  time stamps and dates; :func:`novelty` is the fraction of a paragraph's shingles never seen;
  :func:`is_novel` and :func:`new_sentences` apply :data:`NOVEL_THRESHOLD`, per paragraph and
  per sentence, so one new sentence added to an old paragraph still counts as new text.
- *Is this story a near-duplicate of one already known (wire copy, light edits)?*
  :func:`minhash` makes a fixed-length signature, :func:`band_keys` the LSH keys the store
  indexes (a candidate shares at least one key), :func:`estimate_jaccard` the check of a
  candidate against :data:`STORY_THRESHOLD`.

Everything here is stable across processes and machines (no salted ``hash()``, little-endian
bytes): shingle hashes, signatures and band keys can be stored and compared later. Changing the
normalisation, the hash or the permutations changes them all; :data:`VERSION` names the scheme.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from newswatch.errors import ParseError
from newswatch.matching import split_sentences

__all__ = [
    "BANDS",
    "NOVEL_THRESHOLD",
    "NUM_PERM",
    "SHINGLE_SIZE",
    "STORY_THRESHOLD",
    "VERSION",
    "Signature",
    "article_shingles",
    "band_keys",
    "estimate_jaccard",
    "is_novel",
    "minhash",
    "new_sentences",
    "novelty",
    "shingles",
    "signature_from_bytes",
    "signature_to_bytes",
]

Signature = NDArray[np.uint64]

VERSION = 1
SHINGLE_SIZE = 3

# Measured in tests/test_similarity.py: cosmetic edits score at most 0.13 per paragraph and below
# 0.3 per sentence, new text 0.96-1.0; every case there is classified right for any threshold
# from 0.3 to 0.9, and 0.5 sits in the middle of that range.
NOVEL_THRESHOLD = 0.5

# Measured in the tests: light edits of one wire story have Jaccard 0.66-0.90 (estimated
# 0.68-0.93), different stories on the same topics at most 0.03 (estimated 0.04). 0.4 leaves
# room for heavier edits and for the estimate's noise (standard error sqrt(J(1-J)/128) is 0.04
# at J = 0.4), and is where LSH recall starts to fall (below).
STORY_THRESHOLD = 0.35

# A trimmed copy (an outlet running the first half of a wire story) has a low Jaccard with the
# full story but is mostly contained in it. Two different stories sharing one background
# paragraph stay far below both numbers (Jaccard about 0.1).
CONTAINMENT_THRESHOLD = 0.8
CONTAINMENT_MIN_JACCARD = 0.2

# A copy that keeps at least half of its evidence paragraphs word for word (two or more) is the
# same story even when too little of the whole is shared for the bands; one shared background
# paragraph does not make two stories one.
MIN_SHARED_PARAGRAPHS = 2

# 128 permutations in 32 bands of 4 rows. The chance that a pair with Jaccard s shares at least
# one band is 1 - (1 - s**4) ** 32:
#   s    0.1    0.2    0.3    0.4    0.5    0.6    0.7    0.8
#   P    0.003  0.050  0.229  0.564  0.873  0.988  1.000  1.000
# 64 permutations cannot do both jobs: 16x4 finds only 64 % of s=0.5 pairs, 32x2 makes 73 % of
# s=0.2 pairs candidates. A candidate is always confirmed with estimate_jaccard, so a spurious
# collision costs one comparison, a missed one costs a duplicate alert.
NUM_PERM = 256
BANDS = 64
MAX_PERM = 1024

_U64 = np.uint64
_MASK = (1 << 64) - 1
_EMPTY = _MASK  # every slot of an empty set's signature; no real set reaches it everywhere
_CHUNK = 2048  # shingles mixed at once: bounds memory at NUM_PERM * _CHUNK * 8 bytes
_MIX1 = _U64(0xFF51AFD7ED558CCD)  # MurmurHash3's 64-bit finaliser constants
_MIX2 = _U64(0xC4CEB9FE1A85EC53)
_PERM_PERSON = b"newswatch-perm1"
_BAND_PERSON = b"newswatch-lsh-v1"

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


def _tokens(text: str) -> list[str]:
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


def _window_hashes(tokens: Sequence[str], k: int) -> list[int]:
    """Hash of every k-word window in order; the words' own hashes when there are fewer than k.

    A window (w1 .. wk) hashes to the polynomial h(w1)*P**(k-1) + ... + h(wk) mod 2**64 over
    the words' blake2b-64 values: order-sensitive, stable, and two distinct windows collide
    with probability about 2**-64, at a fraction of the cost of one blake2b per window.
    """
    words = [_token_hash(t) for t in tokens]
    if len(words) < k:
        return words
    acc = words[: len(words) - k + 1]
    for offset in range(1, k):
        acc = [(a * _POLY + b) & _MASK for a, b in zip(acc, words[offset:], strict=False)]
    return acc


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"shingle size must be at least 1, got {k}")


# --- paragraph novelty -----------------------------------------------------------------------


def shingles(text: str, k: int = SHINGLE_SIZE) -> frozenset[int]:
    """Stable 64-bit hashes of the k-word shingles of normalised text.

    Normalised: NFKC, casefolded, apostrophes dropped, words are Unicode letter/digit runs
    (punctuation gone, digits kept), clock times and numeric dates replaced by placeholders and
    time-stamp runs removed (see ``_tokens``). A text of fewer than k words gives its words.
    """
    _check_k(k)
    return frozenset(_window_hashes(_tokens(text), k))


def article_shingles(paragraphs: Iterable[str], k: int = SHINGLE_SIZE) -> frozenset[int]:
    """Union of the paragraphs' shingles: what "seen on this URL" or "this story's text" holds.

    Paragraphs are shingled one by one, so reordering them changes nothing.
    """
    _check_k(k)
    found: set[int] = set()
    for paragraph in paragraphs:
        found.update(_window_hashes(_tokens(paragraph), k))
    return frozenset(found)


def novelty(paragraph: str, seen: frozenset[int] | set[int], k: int = SHINGLE_SIZE) -> float:
    """Fraction of the paragraph's shingles not in ``seen``: 0 all seen before, 1 all new.

    A paragraph with no words left after normalisation (an "Updated 14:05" line) scores 0.
    """
    own = shingles(paragraph, k)
    if not own:
        return 0.0
    return len(own.difference(seen)) / len(own)


def _counts_as_new(new: int, total: int, k: int, threshold: float) -> bool:
    # One changed word alters at most k shingles, so fewer new ones than that are an edit unless
    # the text is new through and through (a short sentence or paragraph never seen).
    return total > 0 and new >= threshold * total and (new > k or new == total)


def is_novel(
    paragraph: str,
    seen: frozenset[int] | set[int],
    k: int = SHINGLE_SIZE,
    threshold: float = NOVEL_THRESHOLD,
) -> bool:
    """Whether a paragraph is new text: as a whole, or through at least one new sentence."""
    own = shingles(paragraph, k)
    if _counts_as_new(len(own.difference(seen)), len(own), k, threshold):
        return True
    return bool(new_sentences(paragraph, seen, k, threshold))


def new_sentences(
    paragraph: str,
    seen: frozenset[int] | set[int],
    k: int = SHINGLE_SIZE,
    threshold: float = NOVEL_THRESHOLD,
) -> list[str]:
    """The paragraph's sentences that are new text, in order (the text an update should show).

    A sentence is scored on every shingle of the paragraph that touches one of its words, so a
    sentence moved, or a short sentence next to new text, is judged in its context; it is new
    when the share of unseen shingles reaches ``threshold`` and they are more than one word
    edit could make (more than ``k``), or when all of them are unseen.
    """
    _check_k(k)
    sentences = split_sentences(paragraph)
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    for sentence in sentences:
        words = _tokens(sentence)
        spans.append((len(tokens), len(tokens) + len(words)))
        tokens.extend(words)
    hashes = _window_hashes(tokens, k)
    unigrams = len(tokens) < k
    found: list[str] = []
    for sentence, (start, end) in zip(sentences, spans, strict=True):
        if start == end:
            continue
        first, last = (start, end) if unigrams else (max(0, start - k + 1), min(end, len(hashes)))
        touching = set(hashes[first:last])
        if _counts_as_new(len(touching.difference(seen)), len(touching), k, threshold):
            found.append(sentence)
    return found


# --- MinHash and LSH bands --------------------------------------------------------------------


@lru_cache(maxsize=8)
def _seeds(num_perm: int) -> Signature:
    """One seed per permutation; seed i never depends on num_perm, so signatures share prefixes."""
    values = [
        int.from_bytes(
            hashlib.blake2b(i.to_bytes(4, "little"), digest_size=8, person=_PERM_PERSON).digest(),
            "little",
        )
        for i in range(num_perm)
    ]
    seeds = np.array(values, dtype=_U64)
    seeds.setflags(write=False)
    return seeds


def _as_uint64(values: Iterable[int]) -> NDArray[np.uint64]:
    if isinstance(values, np.ndarray):
        return values.astype(_U64, copy=False).ravel()
    items = values if isinstance(values, (set, frozenset, list, tuple)) else list(values)
    try:
        return np.fromiter(items, dtype=_U64, count=len(items))
    except OverflowError:  # negative values, e.g. read back from a signed BIGINT column
        return np.fromiter((v & _MASK for v in items), dtype=_U64, count=len(items))


def minhash(shingle_set: Iterable[int], num_perm: int = NUM_PERM) -> Signature:
    """MinHash signature (uint64, length ``num_perm``) of a set of 64-bit shingle hashes.

    Permutation i is MurmurHash3's 64-bit finaliser applied to ``x XOR seed_i``, with fixed
    seeds, so a signature is the same in every process and on every machine, and the first n
    slots of a longer signature equal an n-slot signature. The empty set gives all slots at
    2**64-1: it has no band keys and estimates 0 against everything, itself included.
    """
    if not 1 <= num_perm <= MAX_PERM:
        raise ValueError(f"num_perm must be between 1 and {MAX_PERM}, got {num_perm}")
    values = _as_uint64(shingle_set)
    signature = np.full(num_perm, _EMPTY, dtype=_U64)
    seeds = _seeds(num_perm)[:, None]
    for start in range(0, values.size, _CHUNK):
        block = values[None, start : start + _CHUNK] ^ seeds
        block ^= block >> 33
        block *= _MIX1
        block ^= block >> 33
        block *= _MIX2
        block ^= block >> 33
        np.minimum(signature, block.min(axis=1), out=signature)
    return signature


def _is_empty(signature: Signature) -> bool:
    return bool(signature.size == 0 or (signature == _EMPTY).all())


def band_keys(signature: Signature, bands: int = BANDS) -> list[int]:
    """One signed 64-bit LSH key per band (for a BIGINT column); [] for the empty signature.

    The list index is the band number, and the band number is also hashed into the key, so equal
    rows in different bands never give equal keys: a lookup on the key alone is correct, and the
    store's (band, key) pairs are ``list(enumerate(band_keys(sig)))``. Two signatures are LSH
    candidates when they share any key.
    """
    sig = np.asarray(signature, dtype=_U64)
    if bands < 1 or sig.size % bands:
        raise ValueError(f"{sig.size} permutations cannot be cut into {bands} equal bands")
    if _is_empty(sig):
        return []
    data = sig.astype("<u8", copy=False).tobytes()
    width = len(data) // bands
    return [
        int.from_bytes(
            hashlib.blake2b(
                band.to_bytes(4, "little") + data[band * width : (band + 1) * width],
                digest_size=8,
                person=_BAND_PERSON,
            ).digest(),
            "little",
            signed=True,
        )
        for band in range(bands)
    ]


def estimate_jaccard(sig_a: Signature, sig_b: Signature) -> float:
    """Share of equal slots: an unbiased estimate of the two sets' Jaccard similarity.

    Signatures of different lengths are compared on their common prefix (valid because
    permutation i is the same whatever the length); an empty signature matches nothing.
    """
    a = np.asarray(sig_a, dtype=_U64)
    b = np.asarray(sig_b, dtype=_U64)
    n = min(a.size, b.size)
    if n == 0 or _is_empty(a) or _is_empty(b):
        return 0.0
    return int(np.count_nonzero(a[:n] == b[:n])) / n


def signature_to_bytes(signature: Signature) -> bytes:
    """Little-endian bytes of a signature (8 per slot), the same on every machine."""
    return np.asarray(signature, dtype=_U64).astype("<u8", copy=False).tobytes()


def signature_from_bytes(data: bytes) -> Signature:
    """The signature :func:`signature_to_bytes` stored; ParseError when the bytes are not one."""
    if not data or len(data) % 8 or len(data) > 8 * MAX_PERM:
        raise ParseError(
            f"stored MinHash signature: {len(data)} bytes is not 8 x 1..{MAX_PERM} slots"
        )
    return np.frombuffer(data, dtype="<u8").astype(_U64)


def estimate_containment(jaccard: float, size_a: int | None, size_b: int | None) -> float:
    """Estimated share of the smaller shingle set found in the larger, from Jaccard and sizes.

    |A ∩ B| = J (|A| + |B|) / (1 + J); 0 when a size is unknown.
    """
    if not size_a or not size_b:
        return 0.0
    shared = jaccard * (size_a + size_b) / (1.0 + jaccard)
    return min(1.0, shared / min(size_a, size_b))


def story_likeness(
    sig_a: Signature, size_a: int | None, sig_b: Signature, size_b: int | None
) -> tuple[bool, float]:
    """(same story?, estimated Jaccard): near-duplicates, or one mostly contained in the other."""
    jaccard = estimate_jaccard(sig_a, sig_b)
    if jaccard >= STORY_THRESHOLD:
        return True, jaccard
    contained = estimate_containment(jaccard, size_a, size_b) >= CONTAINMENT_THRESHOLD
    return jaccard >= CONTAINMENT_MIN_JACCARD and contained, jaccard


def shares_enough(shared: int, keys: Sequence[str]) -> bool:
    """Whether `shared` equal paragraphs out of a copy's evidence `keys` make it the same story."""
    return shared >= MIN_SHARED_PARAGRAPHS and shared * 2 >= len(set(keys))
