"""Speed of shingling, novelty and MinHash per paragraph and article, against baselines.

Run from the repository root:

    .venv/bin/python -m benchmarks.similarity_speed [--articles N] [--repeat R]

The text is generated from a fixed seed (news-like sentences of 10-25 words, paragraphs of
2-3 sentences, articles of about 350 words), so every run measures the same work. Baselines:
the exact paragraph key detection compared before (sha1 of ``paragraph_key``), and a
pure-Python MinHash over the same permutations, whose signatures must equal the numpy ones
(checked here).
Each figure is the best of ``--repeat`` timings, divided by the number of items.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import timeit
from collections.abc import Callable, Sequence

from newswatch.dedupe import NUM_PERM, _seeds, band_keys, minhash
from newswatch.novelty import new_sentences
from newswatch.shingles import article_shingles, shingles
from parsers.text import paragraph_key

_VOCABULARY = (
    "ukraine russia russian ukrainian kyiv moscow talks delegation ceasefire sanctions banks "
    "refugees border poland moldova officials said minister president government forces troops "
    "city region attack shelling negotiations agreed statement european union united states "
    "the a of in on to and for with from by at after before while during people thousands "
    "million more than about some many would could will has have had was were is are been "
    "new first second round meeting monday tuesday wednesday thursday friday saturday sunday "
    "crossing queue aid agency humanitarian corridor evacuation airspace flights swift reserves "
    "central bank export controls energy gas oil prices market rouble dollar week day night"
)
_WORDS = _VOCABULARY.split()
_MASK = (1 << 64) - 1
_M1, _M2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53


def make_articles(count: int, seed: int = 2022) -> list[list[str]]:
    """``count`` articles of 7 paragraphs of 2-3 sentences of 10-25 words each."""
    rng = random.Random(seed)

    def sentence() -> str:
        words = rng.choices(_WORDS, k=rng.randint(10, 25))
        return " ".join(words).capitalize() + "."

    return [
        [" ".join(sentence() for _ in range(rng.randint(2, 3))) for _ in range(7)]
        for _ in range(count)
    ]


def exact_key(paragraph: str) -> str:
    """What detection compared before similarity existed: a hash of the normalised paragraph."""
    return hashlib.sha1(paragraph_key(paragraph).encode("utf-8")).hexdigest()[:20]


def python_minhash(values: frozenset[int], num_perm: int = NUM_PERM) -> list[int]:
    """The same signature as ``minhash``, one permutation at a time in plain Python."""
    signature = []
    for seed in _seeds(num_perm).tolist():
        best = _MASK
        for value in values:
            x = value ^ seed
            x ^= x >> 33
            x = (x * _M1) & _MASK
            x ^= x >> 33
            x = (x * _M2) & _MASK
            x ^= x >> 33
            best = min(best, x)
        signature.append(best)
    return signature


def per_item_us(work: Callable[[], object], items: int, repeat: int) -> float:
    return min(timeit.repeat(work, number=1, repeat=repeat)) / items * 1e6


def paragraph_rows(articles: Sequence[list[str]], repeat: int) -> list[tuple[str, float]]:
    paragraphs = [p for article in articles for p in article]
    # New text: compared with another article's shingles. Old text: with its own article's, the
    # case where every sentence is scored and none is new.
    own = [article_shingles(a) for a in articles]
    new = [(p, own[i - 1]) for i, article in enumerate(articles) for p in article]
    old = [(p, own[i]) for i, article in enumerate(articles) for p in article]
    n = len(paragraphs)
    rows: list[tuple[str, Callable[[], object]]] = [
        ("baseline: exact paragraph key", lambda: [exact_key(p) for p in paragraphs]),
        ("shingles", lambda: [shingles(p) for p in paragraphs]),
        ("shingles + set difference", lambda: [shingles(p) - s for p, s in new]),
        ("new_sentences, new text", lambda: [new_sentences(p, s) for p, s in new]),
        ("new_sentences, old text", lambda: [new_sentences(p, s) for p, s in old]),
    ]
    return [(label, per_item_us(work, n, repeat)) for label, work in rows]


def article_rows(articles: Sequence[list[str]], repeat: int) -> list[tuple[str, float]]:
    sets = [article_shingles(a) for a in articles]
    few = sets[: max(1, len(sets) // 10)]
    if any(minhash(values).tolist() != python_minhash(values) for values in few):
        raise SystemExit("numpy and pure-Python MinHash disagree")
    n = len(articles)
    rows: list[tuple[str, Callable[[], object], int, int]] = [
        ("article_shingles", lambda: [article_shingles(a) for a in articles], n, repeat),
        ("baseline: pure-Python minhash", lambda: [python_minhash(s) for s in few], len(few), 1),
        ("minhash", lambda: [minhash(s) for s in sets], n, repeat),
        ("minhash + band_keys", lambda: [band_keys(minhash(s)) for s in sets], n, repeat),
        (
            "article_shingles + minhash + band_keys",
            lambda: [band_keys(minhash(article_shingles(a))) for a in articles],
            n,
            repeat,
        ),
    ]
    return [(label, per_item_us(work, items, times)) for label, work, items, times in rows]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200, help="articles to generate")
    parser.add_argument("--repeat", type=int, default=5, help="timings per figure (best kept)")
    args = parser.parse_args(argv)
    articles = make_articles(max(2, args.articles))
    words = sum(len(p.split()) for a in articles for p in a) / len(articles)
    paragraphs = sum(len(a) for a in articles)
    print(f"{len(articles)} articles, {paragraphs} paragraphs, {words:.0f} words per article")
    print(f"{'per paragraph':44s}{'µs':>10s}")
    for label, us in paragraph_rows(articles, args.repeat):
        print(f"  {label:42s}{us:10.1f}")
    print(f"{'per article':44s}{'µs':>10s}")
    for label, us in article_rows(articles, args.repeat):
        print(f"  {label:42s}{us:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
