"""Is this text new on this URL? Every rule that tells news on a page from a cosmetic edit.

A fetched article or live page is compared with *everything ever seen on its URL*, never just
the last version, so a page that flickers, comes back truncated and later whole, or reorders its
paragraphs adds nothing new:

- an unchanged page (same title and paragraphs) is recognised by :func:`content_hash`;
- paragraphs are compared by :func:`key_of`, their text with quotes, dashes, spacing and case
  folded (``parsers.text.paragraph_key``), so typographic edits are not new paragraphs;
- a changed paragraph shows only its :func:`new_sentences`, judged on 3-word shingles of text
  normalised by :mod:`newswatch.shingles` (time stamps, "Updated 14:05" lines and dates gone),
  so a typo fix or a changed time stamp is not new text while one added sentence is;
- on an article, short headline-like lines (related links that extraction let through) are not
  text at all (:func:`is_body_text`); on a live page, entry headlines are its own news.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from newswatch.matching import split_sentences
from newswatch.models import Known, Observation
from newswatch.shingles import SHINGLE_SIZE, check_k, tokens, window_hashes
from parsers.text import is_headline_like, paragraph_key

# Measured in tests/test_similarity.py: cosmetic edits score at most 0.13 per paragraph and below
# 0.3 per sentence, new text 0.96-1.0; every case there is classified right for any threshold
# from 0.3 to 0.9, and 0.5 sits in the middle of that range.
NOVEL_THRESHOLD = 0.5


def key_of(paragraph: str) -> str:
    """Short stable hash of a paragraph's normalised text (what "seen before" compares)."""
    return hashlib.sha1(paragraph_key(paragraph).encode("utf-8")).hexdigest()[:20]


def content_hash(title: str, paragraphs: Sequence[str]) -> str:
    """Hash of a version's exact title and paragraphs: equal means nothing at all changed."""
    h = hashlib.sha256(title.encode("utf-8"))
    for p in paragraphs:
        h.update(b"\0" + p.encode("utf-8"))
    return h.hexdigest()


def unchanged(obs: Observation, known: Known) -> bool:
    """True when the URL's last stored version is exactly this one."""
    return known.exists and known.content_hash == content_hash(obs.title, obs.paragraphs)


def new_paragraphs(paragraphs: Iterable[str], known: Known) -> tuple[tuple[str, str], ...]:
    """(key, text) of each paragraph whose normalised form was never seen on the URL."""
    return tuple({k: p for p in paragraphs if (k := key_of(p)) not in known.paragraph_keys}.items())


def is_body_text(obs: Observation, paragraph: str) -> bool:
    """Body text rather than a headline-like line (long, or ending as a sentence does).

    Only articles have such lines to ignore: a live page's entry headlines are its own news.
    """
    return obs.kind == "page" or not is_headline_like(paragraph.rstrip())


def _counts_as_new(new: int, total: int, k: int, threshold: float) -> bool:
    # One changed word alters at most k shingles, so fewer new ones than that are an edit unless
    # the text is new through and through (a short sentence or paragraph never seen).
    return total > 0 and new >= threshold * total and (new > k or new == total)


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
    check_k(k)
    sentences = split_sentences(paragraph)
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    for sentence in sentences:
        own = tokens(sentence)
        spans.append((len(words), len(words) + len(own)))
        words.extend(own)
    hashes = window_hashes(words, k)
    unigrams = len(words) < k
    found: list[str] = []
    for sentence, (start, end) in zip(sentences, spans, strict=True):
        if start == end:
            continue
        first, last = (start, end) if unigrams else (max(0, start - k + 1), min(end, len(hashes)))
        touching = set(hashes[first:last])
        if _counts_as_new(len(touching.difference(seen)), len(touching), k, threshold):
            found.append(sentence)
    return found
