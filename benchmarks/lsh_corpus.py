"""Synthetic news-like stories for benchmarks.lsh_scaling, as real text and as fast signatures.

A story is ``PARAGRAPHS`` paragraphs of ``SEGMENTS`` segments; a segment is either one of
``PHRASES`` stock phrases of 3-6 words (chance ``PHRASE_SHARE``, Zipf-weighted, the way wire copy
reuses "officials said on" or a minister's title) or a run of 1-3 words drawn from a Zipf
vocabulary of ``VOCABULARY`` made-up words. That gives paragraphs of about 50 words, about 240
distinct 3-word shingles per story, and unrelated stories that share a few shingles through the
stock phrases, as real ones on one topic do.

Stories a lookup has to find, fresh articles and near-duplicates are real text shingled by
:func:`newswatch.shingles.article_shingles`. The bulk of the history is
:func:`model_signatures`: the same make-up without writing or shingling the text (a million
paragraphs would take minutes); ``lsh_scaling`` prints how similar unrelated stories are under
both, so the two can be compared.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from newswatch.dedupe import NUM_PERM, Signature, minhash
from newswatch.shingles import article_shingles, shingles

PARAGRAPHS = 5
SEGMENTS = 20
PHRASE_SHARE = 0.2  # unrelated stories then estimate J ~0.015 on average, ~0.04 at the 99th pct
VOCABULARY = 8000
PHRASES = 4000
_MAX_PHRASE = 6
_MAX_PHRASES_PER_STORY = 40  # of 100 segments, 20 on average; more than 40 has odds ~1e-6
_BLOCK = 256  # stories whose phrase signatures are gathered at once (~10 MB)
_SYLLABLES = (
    "ka",
    "ri",
    "to",
    "ven",
    "mal",
    "sor",
    "du",
    "lin",
    "pe",
    "ra",
    "mo",
    "tek",
    "ur",
    "is",
    "an",
    "bel",
    "gor",
    "fi",
    "na",
    "zu",
    "lo",
    "vek",
    "tra",
    "sen",
    "pol",
    "dar",
    "min",
    "ost",
    "rev",
    "ko",
)
_STAMP_LINE = "Updated 25 February 2022, 14:05 GMT"

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Corpus:
    words: tuple[str, ...]
    word_cdf: FloatArray
    phrase_words: IntArray  # (PHRASES, _MAX_PHRASE) word ids; the first phrase_len are used
    phrase_len: IntArray  # one more entry than phrases, 0: the "no phrase" index PHRASES
    phrase_cdf: FloatArray
    phrase_sigs: NDArray[np.uint64]  # (PHRASES + 1, NUM_PERM); the last row is the empty set's


def _zipf_cdf(n: int, exponent: float) -> FloatArray:
    weights = np.cumsum(1.0 / np.arange(1, n + 1) ** exponent)
    return weights / weights[-1]


def _draw(cdf: FloatArray, rng: np.random.Generator, shape: int | tuple[int, ...]) -> IntArray:
    found = np.searchsorted(cdf, rng.random(shape), side="right")
    return np.minimum(found, len(cdf) - 1).astype(np.int64)


def _vocabulary(seed: int) -> tuple[str, ...]:
    pick = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        word = "".join(pick.choice(_SYLLABLES) for _ in range(pick.randint(2, 4)))
        # shingles() drops time-stamp words ("mon", "sat"); a kept word must give one hash.
        if len(shingles(word)) == 1:
            words[word] = None
    return tuple(words)


def make_corpus(seed: int) -> Corpus:
    """The vocabulary, the stock phrases and each phrase's real MinHash signature."""
    rng = np.random.default_rng([seed, 99])
    words = _vocabulary(seed)
    word_cdf = _zipf_cdf(len(words), 1.05)
    phrase_words = _draw(word_cdf, rng, (PHRASES, _MAX_PHRASE))
    phrase_len = np.append(rng.integers(3, _MAX_PHRASE + 1, PHRASES), 0)
    sigs = np.empty((PHRASES + 1, NUM_PERM), dtype=np.uint64)
    for i in range(PHRASES):
        text = " ".join(words[j] for j in phrase_words[i, : phrase_len[i]])
        sigs[i] = minhash(shingles(text))
    sigs[PHRASES] = minhash(())
    return Corpus(words, word_cdf, phrase_words, phrase_len, _zipf_cdf(PHRASES, 0.9), sigs)


def paragraph(corpus: Corpus, rng: np.random.Generator) -> list[str]:
    """One paragraph's words: SEGMENTS stock phrases or runs of 1-3 words."""
    is_phrase = rng.random(SEGMENTS) < PHRASE_SHARE
    phrases = _draw(corpus.phrase_cdf, rng, SEGMENTS)
    runs = _draw(corpus.word_cdf, rng, (SEGMENTS, 3))
    run_len = rng.integers(1, 4, SEGMENTS)
    ids: list[int] = []
    for i in range(SEGMENTS):
        if is_phrase[i]:
            p = phrases[i]
            ids.extend(corpus.phrase_words[p, : corpus.phrase_len[p]].tolist())
        else:
            ids.extend(runs[i, : run_len[i]].tolist())
    return [corpus.words[j] for j in ids]


def story(corpus: Corpus, rng: np.random.Generator) -> list[list[str]]:
    return [paragraph(corpus, rng) for _ in range(PARAGRAPHS)]


def render(paragraphs: list[list[str]], rng: np.random.Generator) -> list[str]:
    """Paragraph texts in sentences of 8-20 words with an "Updated" line, as a page shows them.

    Case, full stops and the time-stamp line are all normalised away by ``shingles``, so this
    exercises that path without changing the story's shingles.
    """
    texts = [_STAMP_LINE]
    for words in paragraphs:
        sentences: list[str] = []
        start = 0
        while start < len(words):
            end = start + int(rng.integers(8, 21))
            sentences.append(" ".join(words[start:end]).capitalize() + ".")
            start = end
        texts.append(" ".join(sentences))
    return texts


def near_duplicate(
    corpus: Corpus, paragraphs: list[list[str]], rng: np.random.Generator
) -> list[list[str]]:
    """Another outlet's copy: up to 8 % of words changed, maybe a paragraph cut, one added."""
    share = rng.uniform(0.0, 0.08)
    copy: list[list[str]] = []
    for words in paragraphs:
        edited = list(words)
        for i in np.flatnonzero(rng.random(len(edited)) < share).tolist():
            edited[i] = corpus.words[int(_draw(corpus.word_cdf, rng, 1)[0])]
        copy.append(edited)
    if rng.random() < 0.4:
        del copy[int(rng.integers(len(copy)))]
    if rng.random() < 0.4:
        copy.insert(int(rng.integers(len(copy) + 1)), paragraph(corpus, rng))
    return copy


def text_signature(texts: list[str]) -> Signature:
    """What detection computes for an article's evidence."""
    return minhash(article_shingles(texts))


def model_signatures(corpus: Corpus, rng: np.random.Generator, count: int) -> NDArray[np.uint64]:
    """Signatures of ``count`` stories made up like :func:`story`, without writing the text.

    A story's shingles are those inside its stock phrases, shared with other stories, and the
    others (windows across segments, inside word runs), which this text practically never
    repeats. MinHash of a union is the slot-wise minimum of the parts' signatures: the shared
    part uses the phrases' real signatures; for the n one-off shingles each slot's minimum of n
    effectively uniform 64-bit hashes is drawn from its distribution, 1 - (1 - u) ** (1 / n).
    """
    shape = (count, PARAGRAPHS, SEGMENTS)
    is_phrase = rng.random(shape) < PHRASE_SHARE
    phrase = np.where(is_phrase, _draw(corpus.phrase_cdf, rng, shape), PHRASES)
    length = np.where(is_phrase, corpus.phrase_len[phrase], rng.integers(1, 4, shape))
    windows = (length.sum(axis=2) - 2).sum(axis=1)
    inside = np.where(is_phrase, corpus.phrase_len[phrase] - 2, 0).sum(axis=(1, 2))
    one_off = np.maximum(windows - inside, 1)
    # PHRASES (the empty row) sorts after every real phrase, so the first columns hold them all.
    chosen = np.sort(phrase.reshape(count, -1), axis=1)[:, :_MAX_PHRASES_PER_STORY]
    sigs = np.empty((count, NUM_PERM), dtype=np.uint64)
    for start in range(0, count, _BLOCK):
        sigs[start : start + _BLOCK] = corpus.phrase_sigs[chosen[start : start + _BLOCK]].min(1)
    least = -np.expm1(np.log1p(-rng.random((count, NUM_PERM))) / one_off[:, None])
    np.minimum(sigs, (least * 2.0**64).astype(np.uint64), out=sigs)
    return sigs


def pair_similarity(sigs: NDArray[np.uint64]) -> FloatArray:
    """Estimated Jaccard of every distinct pair of the signatures (as estimate_jaccard counts)."""
    equal = (sigs[:, None, :] == sigs[None, :, :]).sum(axis=2) / sigs.shape[1]
    upper = np.triu_indices(len(sigs), k=1)
    return np.asarray(equal[upper], dtype=np.float64)
