"""Is this the same story as one already known? Wire copies, light edits and trimmed copies.

:func:`minhash` makes a fixed-length signature of a story's evidence shingles, :func:`band_keys`
the LSH keys the store indexes (a candidate shares at least one key), and :func:`same_story`
decides among the candidates the store found: near-duplicates (estimated Jaccard), a copy mostly
contained in a known story, or one keeping whole evidence paragraphs word for word. Detection and
the store's under-lock re-check both ask :func:`same_story`, so the two can never disagree.

Signatures and band keys are stable across processes and machines (fixed seeds, little-endian
bytes): they are stored and compared later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from newswatch.errors import ParseError
from newswatch.models import Attachment, NewStory, StoredStory

# numpy is imported where a signature is made or read (~150 ms at start-up otherwise): a cycle
# where nothing is new never needs it.
if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Signature = NDArray[np.uint64]

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

_MASK = (1 << 64) - 1
_EMPTY = _MASK  # every slot of an empty set's signature; no real set reaches it everywhere
_CHUNK = 2048  # shingles mixed at once: bounds memory at NUM_PERM * _CHUNK * 8 bytes
_MIX1 = 0xFF51AFD7ED558CCD  # MurmurHash3's 64-bit finaliser constants
_MIX2 = 0xC4CEB9FE1A85EC53
_PERM_PERSON = b"newswatch-perm1"
_BAND_PERSON = b"newswatch-lsh-v1"


@lru_cache(maxsize=8)
def _seeds(num_perm: int) -> Signature:
    """One seed per permutation; seed i never depends on num_perm, so signatures share prefixes."""
    import numpy as np

    values = [
        int.from_bytes(
            hashlib.blake2b(i.to_bytes(4, "little"), digest_size=8, person=_PERM_PERSON).digest(),
            "little",
        )
        for i in range(num_perm)
    ]
    seeds = np.array(values, dtype=np.uint64)
    seeds.setflags(write=False)
    return seeds


def _as_uint64(values: Iterable[int]) -> NDArray[np.uint64]:
    import numpy as np

    if isinstance(values, np.ndarray):
        return values.astype(np.uint64, copy=False).ravel()
    items = values if isinstance(values, (set, frozenset, list, tuple)) else list(values)
    try:
        return np.fromiter(items, dtype=np.uint64, count=len(items))
    except OverflowError:  # negative values, e.g. read back from a signed BIGINT column
        return np.fromiter((v & _MASK for v in items), dtype=np.uint64, count=len(items))


def minhash(shingle_set: Iterable[int], num_perm: int = NUM_PERM) -> Signature:
    """MinHash signature (uint64, length ``num_perm``) of a set of 64-bit shingle hashes.

    Permutation i is MurmurHash3's 64-bit finaliser applied to ``x XOR seed_i``, with fixed
    seeds, so a signature is the same in every process and on every machine, and the first n
    slots of a longer signature equal an n-slot signature. The empty set gives all slots at
    2**64-1: it has no band keys and estimates 0 against everything, itself included.
    """
    import numpy as np

    if not 1 <= num_perm <= MAX_PERM:
        raise ValueError(f"num_perm must be between 1 and {MAX_PERM}, got {num_perm}")
    values = _as_uint64(shingle_set)
    signature = np.full(num_perm, _EMPTY, dtype=np.uint64)
    seeds = _seeds(num_perm)[:, None]
    for start in range(0, values.size, _CHUNK):
        block = values[None, start : start + _CHUNK] ^ seeds
        block ^= block >> 33
        block *= np.uint64(_MIX1)
        block ^= block >> 33
        block *= np.uint64(_MIX2)
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
    import numpy as np

    sig = np.asarray(signature, dtype=np.uint64)
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
    import numpy as np

    a = np.asarray(sig_a, dtype=np.uint64)
    b = np.asarray(sig_b, dtype=np.uint64)
    n = min(a.size, b.size)
    if n == 0 or _is_empty(a) or _is_empty(b):
        return 0.0
    return int(np.count_nonzero(a[:n] == b[:n])) / n


def signature_to_bytes(signature: Signature) -> bytes:
    """Little-endian bytes of a signature (8 per slot), the same on every machine."""
    import numpy as np

    return np.asarray(signature, dtype=np.uint64).astype("<u8", copy=False).tobytes()


def signature_from_bytes(data: bytes) -> Signature:
    """The signature :func:`signature_to_bytes` stored; ParseError when the bytes are not one."""
    import numpy as np

    if not data or len(data) % 8 or len(data) > 8 * MAX_PERM:
        raise ParseError(
            f"stored MinHash signature: {len(data)} bytes is not 8 x 1..{MAX_PERM} slots"
        )
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)


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


@dataclass(frozen=True, slots=True)
class Verdict:
    """The nearest known story, its estimated Jaccard, and whether it is the same story."""

    nearest: StoredStory | None = None
    similarity: float = 0.0
    same: bool = False


def same_story(
    story: NewStory,
    candidates: Sequence[StoredStory],
    sharing: Sequence[tuple[StoredStory, int]] = (),
) -> Verdict:
    """Decide whether `story` is a known one: the nearest of its LSH `candidates` by signature,
    or else a known story sharing enough whole evidence paragraphs (`sharing`: story, count)."""
    sig = signature_from_bytes(story.signature)
    best = Verdict()
    for known in candidates:
        same, sim = story_likeness(
            sig, story.size, signature_from_bytes(known.signature), known.size
        )
        if (same, sim) > (best.same, best.similarity):
            best = Verdict(known, round(sim, 3), same)
    if best.same:
        return best
    for other, shared in sharing:  # a trimmed copy: too little of the whole shared for the bands
        if shares_enough(shared, story.keys):
            return Verdict(other, best.similarity, True)
    return best


def copy_of(
    story: NewStory,
    candidates: Sequence[StoredStory],
    sharing: Sequence[tuple[StoredStory, int]] = (),
) -> Attachment | None:
    """How to record `story` on the known story it copies, or None when it is a new one.

    The rule the store applies when it re-checks a new story under its lock (`SameStory`).
    """
    verdict = same_story(story, candidates, sharing)
    if not (verdict.same and verdict.nearest):
        return None
    return Attachment(verdict.nearest.id, verdict.similarity)
