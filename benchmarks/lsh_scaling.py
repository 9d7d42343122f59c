"""Cost per lookup of the near-duplicate story search as history grows: LSH bands vs a full scan.

Run from the repository root:

    .venv/bin/python -m benchmarks.lsh_scaling [--size full|small] [--lookups N]
        [--store-scans K] [--json]

About 2 minutes, 0.65 GB of memory and 0.76 GB of temporary disk (deleted at the end) at
``--size full`` on 2 cores; about 15 s at ``--size small``.

Sizes are counted in paragraphs of evidence text. A story is stored as the MinHash signature of
its evidence, and each synthetic story has 5 paragraphs of about 50 words (about 240 shingles),
so 10k paragraphs = 2,000 stories (64,000 band rows) and 1M paragraphs = 200,000 stories
(6.4M band rows). ``--size full`` (the default) compares 10k with 1M paragraphs, ``--size
small`` 10k with 100k. All stories are on one topic, the worst case for both methods.

Both stores are built in the same run by ``Store.open`` and filled straight into ``stories``
and ``story_bands`` (see ``lsh_fixture.fill``); the bigger store holds the smaller one's
stories plus more. The lookups are fresh articles, half of them light edits of a story held
by both stores (another outlet's copy), half new; each is looked up in both stores in turn, so
machine noise hits both alike. Methods, each starting from the article's signature:

- ``Store.story_candidates``: what detection does (band keys, candidates, estimate_jaccard);
- one query: the same candidates from a single SELECT, a proposal for the store;
- in-memory scan: every stored signature held in a numpy matrix and compared at once, the
  fastest scan we could write (the baseline);
- store scan: read every signature of the topic and call estimate_jaccard on each, what a
  history scan in the store would cost (on ``--store-scans`` lookups only, it is slow).

If ``$PGURL`` names a PostgreSQL database (``postgresql+psycopg://...``), the same runs in two
scratch schemas there, which are dropped afterwards.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import Select, bindparam, create_engine, select, union_all
from sqlalchemy.engine import Engine, make_url

from benchmarks import lsh_corpus as corpus_mod
from benchmarks.lsh_corpus import Corpus
from benchmarks.lsh_fixture import (
    ALL_SIGNATURES,
    CHUNK,
    SEED,
    TOPIC,
    Backend,
    Found,
    Lookup,
    background,
    build,
    elapsed,
    make_lookups,
    progress,
)
from benchmarks.lsh_report import paragraphs_label, print_report, summarize
from newswatch.dedupe import (
    BANDS,
    Signature,
    band_keys,
    estimate_jaccard,
    signature_from_bytes,
)
from newswatch.store.schema import stories, story_bands

SIZES = {"full": (10_000, 1_000_000), "small": (10_000, 100_000)}


def _best(sig: Signature, rows: Iterable[tuple[int, bytes]]) -> Found:
    best_id, best_sim, count = None, 0.0, 0
    for story_id, data in rows:
        count += 1
        sim = estimate_jaccard(sig, signature_from_bytes(data))
        if sim > best_sim:
            best_id, best_sim = story_id, sim
    return Found(best_id, best_sim, count)


def lsh_store(backend: Backend, sig: Signature) -> Found:
    """Detection's lookup: Store.story_candidates on the band keys, then estimate_jaccard."""
    candidates = backend.store.story_candidates(TOPIC, tuple(enumerate(band_keys(sig))))
    return _best(sig, [(c.id, c.signature) for c in candidates])


def _one_query() -> Select[Any]:
    # One UNION ALL arm per band, each an equality search on the primary key, built once. A
    # (band, key) IN (...) row-value test looks tidier, but SQLite then searches on topic only
    # and reads the topic's whole index: 7x slower at 100k paragraphs than at 10k.
    arms = [
        select(story_bands.c.story_id).where(
            story_bands.c.topic == bindparam("topic"),
            story_bands.c.band == bindparam(f"b{i}"),
            story_bands.c.key == bindparam(f"k{i}"),
        )
        for i in range(BANDS)
    ]
    return select(stories.c.id, stories.c.signature).where(stories.c.id.in_(union_all(*arms)))


ONE_QUERY = _one_query()


def lsh_one_query(backend: Backend, sig: Signature) -> Found:
    """The same candidates in one statement, prepared once: a proposal for the store."""
    params: dict[str, Any] = {"topic": TOPIC}
    for band, key in enumerate(band_keys(sig)):
        params[f"b{band}"], params[f"k{band}"] = band, key
    with backend.store.engine.begin() as conn:
        rows = [(r.id, r.signature) for r in conn.execute(ONE_QUERY, params)]
    return _best(sig, rows)


def scan_memory(backend: Backend, sig: Signature) -> Found:
    """Baseline: every stored signature compared at once; same arithmetic as estimate_jaccard."""
    equal = np.count_nonzero(backend.matrix == sig, axis=1)
    best = int(np.argmax(equal))
    return Found(int(backend.ids[best]), float(equal[best]) / sig.size, len(equal))


def scan_store(backend: Backend, sig: Signature) -> Found:
    """Baseline as the store would run it: read every signature of the topic, compare each."""
    with backend.store.engine.begin() as conn:
        rows = conn.execution_options(yield_per=CHUNK).execute(ALL_SIGNATURES)
        return _best(sig, ((r.id, r.signature) for r in rows))


Method = Callable[[Backend, Signature], Found]


METHODS: dict[str, Method] = {
    "Store.story_candidates": lsh_store,
    "LSH in one query (proposal)": lsh_one_query,
    "scan, in memory (numpy)": scan_memory,
    "scan, from the store": scan_store,
}


SLOW = "scan, from the store"


def measure(backends: list[Backend], lookups: list[Lookup], slow_lookups: int) -> None:
    """Time every method on every lookup, alternating which store goes first."""
    for b in backends:  # warm-up: compiled statements, cached pages, numpy dispatch
        for name, method in METHODS.items():
            if name != SLOW:
                method(b, lookups[0].signature)
    gc.collect()
    for n, lookup in enumerate(lookups):
        order = backends if n % 2 == 0 else backends[::-1]
        for name, method in METHODS.items():
            if name == SLOW and n >= slow_lookups:
                continue
            for b in order:
                started = time.perf_counter()
                found = method(b, lookup.signature)
                b.times.setdefault(name, []).append(time.perf_counter() - started)
                b.found.setdefault(name, []).append((lookup, found))
        if n % 100 == 99:
            progress(f"  {n + 1} lookups done")


def agree(backend: Backend, first: str, second: str) -> bool:
    """Whether two methods found the same story, similarity and candidates for every lookup."""
    return [f for _, f in backend.found[first]] == [f for _, f in backend.found[second]]


def run_backend(
    kind: str,
    url_for: Callable[[str], str],
    corpus: Corpus,
    sizes: tuple[int, int],
    lookups: tuple[list[Lookup], dict[int, Any]],
    store_scans: int,
) -> dict[str, Any]:
    """Build both stores, time every method in both, print and return the summary."""
    backends: list[Backend] = []
    try:
        for count in sizes:
            label = paragraphs_label(count)
            backends.append(build(url_for(label), f"{kind} {label}", corpus, count, lookups[1]))
            backends[-1].label = label
        progress(f"{kind}: timing {len(lookups[0])} lookups in both stores")
        measure(backends, lookups[0], store_scans)
        summary = summarize(backends[0], backends[1])
        summary["lsh_methods_agree"] = all(agree(b, *list(METHODS)[:2]) for b in backends)
        print_report(summary, backends[0], backends[1])
        if not summary["lsh_methods_agree"]:
            print("  WARNING: the one-query lookup found other candidates than the store's")
        return summary
    finally:
        for b in backends:
            b.store.close()


@contextmanager
def pg_schemas(url: str) -> Iterator[Callable[[str], str]]:
    """Scratch schemas in $PGURL's database, one per store, dropped on the way out."""
    engine: Engine = create_engine(url)
    prefix = f"newswatch_lsh_bench_{os.getpid()}_"
    made: list[str] = []

    def url_for(label: str) -> str:
        name = prefix + label.lower()
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        made.append(name)
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
        return scoped.render_as_string(hide_password=False)

    try:
        yield url_for
    finally:
        with engine.begin() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        engine.dispose()


def prepare(
    corpus: Corpus, count: int, small: int
) -> tuple[tuple[list[Lookup], dict[int, Any]], dict[str, float]]:
    """The lookups and their targets, and the facts about them that the results depend on."""
    made = make_lookups(corpus, count, small)
    texts = [corpus_mod.render(corpus_mod.story(corpus, rng), rng) for rng in _rngs(50)]
    spent = []
    for article in texts:
        started = time.perf_counter()
        corpus_mod.text_signature(article)
        spent.append(time.perf_counter() - started)
    originals = sorted(lk.original for lk in made[0] if lk.target is not None)
    bg = background(corpus, made[1])
    progress(
        f"{len(made[0])} lookups ready; article_shingles + minhash of an article "
        f"{statistics.median(spent) * 1e3:.2f} ms (any history size; not in the times below)"
    )
    progress(
        f"near-duplicates vs their originals, estimated J: min {originals[0]:.2f}, median "
        f"{statistics.median(originals):.2f}, max {originals[-1]:.2f}"
    )
    progress(
        f"unrelated stories, estimated J: text mean {bg['text_mean']:.3f} p99 "
        f"{bg['text_p99']:.3f} max {bg['text_max']:.3f}; model mean {bg['model_mean']:.3f} "
        f"p99 {bg['model_p99']:.3f} max {bg['model_max']:.3f}"
    )
    facts = {
        "signature_ms": round(statistics.median(spent) * 1e3, 3),
        "near_duplicate_j_min": originals[0],
        "near_duplicate_j_median": statistics.median(originals),
        **bg,
    }
    return made, facts


def _rngs(count: int) -> list[np.random.Generator]:
    return [np.random.default_rng([SEED, 4, i]) for i in range(count)]


def run_postgresql(url: str, corpus: Corpus, sizes: tuple[int, int], *rest: Any) -> Any:
    """The same on $PGURL; a failure is reported, not raised, the SQLite results stand."""
    try:
        with pg_schemas(url) as url_for:
            return run_backend("postgresql", url_for, corpus, sizes, *rest)
    except Exception as exc:  # noqa: BLE001 - an optional part must not lose the main results
        progress(f"PostgreSQL run failed: {exc.__class__.__name__}: {exc}")
        return {"error": f"{exc.__class__.__name__}: {exc}"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--lookups", type=int, default=300, help="fresh articles (even)")
    parser.add_argument("--store-scans", type=int, default=2, help="lookups for the slow scan")
    parser.add_argument("--json", action="store_true", help="a one-line JSON summary at the end")
    args = parser.parse_args(argv)
    small, big = (p // corpus_mod.PARAGRAPHS for p in SIZES[args.size])
    corpus = corpus_mod.make_corpus(SEED)
    lookups, facts = prepare(corpus, max(4, min(args.lookups, 2 * small)) // 2 * 2, small)
    summary: dict[str, Any] = {"size": args.size, "lookups": len(lookups[0]), "corpus": facts}
    rest = ((small, big), lookups, args.store_scans)
    with tempfile.TemporaryDirectory(prefix="newswatch-lsh-") as tmp:
        summary["sqlite"] = run_backend(
            "sqlite", lambda label: f"sqlite:///{tmp}/{label}.db", corpus, *rest
        )
    pg_url = os.environ.get("PGURL")
    if pg_url:
        summary["postgresql"] = run_postgresql(pg_url, corpus, *rest)
    else:
        progress("PGURL not set: PostgreSQL skipped")
    summary["elapsed_s"] = round(elapsed(), 1)
    progress("done")
    if args.json:
        print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
