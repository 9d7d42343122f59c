"""Cost per lookup of the near-duplicate story search as history grows: the store's LSH bands against a full scan.

Run from the repository root:

    .venv/bin/python -m benchmarks.lsh_scaling [--size full|small] [--lookups N] [--json]

Sizes are counted in paragraphs of evidence text. A story is stored as the MinHash signature of
its evidence, and each synthetic story has 5 paragraphs of about 50 words (about 240 shingles),
so 10k paragraphs = 2,000 stories (64,000 band rows) and 1M paragraphs = 200,000 stories
(6.4M band rows). ``--size full`` (the default) compares 10k with 1M paragraphs, ``--size
small`` 10k with 100k. All stories are on one topic, the worst case for both methods.

Both stores are built in the same run by ``Store.open`` and filled straight into ``stories``
and ``story_bands`` (see :func:`fill`); the bigger store holds the smaller one's stories plus
more. The lookups are fresh articles, half of them light edits of a story held by both stores
(another outlet's copy), half new; each is looked up in both stores in turn, so machine noise
hits both alike. Methods, each starting from the article's signature:

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
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import create_engine, event, insert, select, text, tuple_
from sqlalchemy.engine import Engine, make_url

from benchmarks import lsh_corpus as corpus_mod
from benchmarks.lsh_corpus import Corpus
from newswatch.schema import stories, story_bands
from newswatch.similarity import (
    STORY_THRESHOLD,
    Signature,
    band_keys,
    estimate_jaccard,
    signature_from_bytes,
    signature_to_bytes,
)
from newswatch.store import Store

TOPIC = "bench-topic"
SEED = 2022
SIZES = {"full": (10_000, 1_000_000), "small": (10_000, 100_000)}
CHUNK = 2_000  # stories generated, keyed and inserted at a time
BAND_BATCH = 200_000
_START = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f}s] {message}", flush=True)


@dataclass(frozen=True, slots=True)
class Lookup:
    signature: Signature
    target: int | None  # id of the stored story this article copies; None for a new story


@dataclass(frozen=True, slots=True)
class Found:
    story_id: int | None
    similarity: float
    candidates: int


@dataclass
class Backend:
    """One store under test and what was measured on it."""

    label: str
    store: Store
    count: int
    db_bytes: int | None
    ids: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    matrix: NDArray[np.uint64] = field(default_factory=lambda: np.empty((0, 0), dtype=np.uint64))
    times: dict[str, list[float]] = field(default_factory=dict)
    found: dict[str, list[tuple[Lookup, Found]]] = field(default_factory=dict)


# --- the fixture -------------------------------------------------------------------------------


def make_lookups(corpus: Corpus, count: int, small: int) -> tuple[list[Lookup], dict[int, Any]]:
    """Alternating near-duplicate and new articles, and the real-text stories they copy."""
    pick = np.random.default_rng([SEED, 1])
    chosen = sorted(pick.choice(small, size=count // 2, replace=False).tolist())
    targets: dict[int, Any] = {}
    lookups: list[Lookup] = []
    for n, index in enumerate(chosen):
        rng = np.random.default_rng([SEED, 2, index])
        original = corpus_mod.story(corpus, rng)
        targets[index] = corpus_mod.text_signature(corpus_mod.render(original, rng))
        copy = corpus_mod.near_duplicate(corpus, original, rng)
        lookups.append(Lookup(corpus_mod.text_signature(corpus_mod.render(copy, rng)), index + 1))
        fresh = np.random.default_rng([SEED, 3, n])
        lookups.append(Lookup(_text_story(corpus, fresh), None))
    return lookups, targets


def _text_story(corpus: Corpus, rng: np.random.Generator) -> Signature:
    return corpus_mod.text_signature(corpus_mod.render(corpus_mod.story(corpus, rng), rng))


def _fast_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Fixture only, the file is thrown away: no durability, a rollback journal rather than the
    # store's WAL (which would hold a second copy of the whole load on disk), a big cache, and
    # no foreign-key checks, because the ids are assigned here and hold by construction.
    cur = dbapi_conn.cursor()
    for pragma in ("journal_mode=DELETE", "synchronous=OFF", "foreign_keys=OFF"):
        cur.execute(f"PRAGMA {pragma}")
    cur.execute("PRAGMA cache_size=-262144")
    cur.close()


def fill(url: str, corpus: Corpus, count: int, targets: dict[int, Any]) -> None:
    """Write ``count`` stories and their 32 band rows each, as save_observation would.

    Filling 200k stories one observation at a time would take most of an hour, so this is a
    bulk load in one transaction: stories with Core ``insert()`` executemany, band rows sorted
    by the primary key and inserted in big batches (on SQLite through the DBAPI's executemany
    of the compiled insert, twice as fast as binding dicts). Story i is the same in every store,
    so the small store's stories are the big one's first ones.
    """
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _fast_pragmas)
    try:
        with engine.begin() as conn:
            keys = []
            for start in range(0, count, CHUNK):
                sigs = _chunk_signatures(corpus, start, min(CHUNK, count - start), targets)
                conn.execute(insert(stories), _story_rows(start, sigs))
                keys.append(np.array([band_keys(s) for s in sigs], dtype=np.int64))
                if (start // CHUNK) % 20 == 19:
                    progress(f"  {start + len(sigs):,} stories written")
            _insert_bands(conn, np.concatenate(keys))
    finally:
        engine.dispose()


def _chunk_signatures(
    corpus: Corpus, start: int, size: int, targets: dict[int, Any]
) -> NDArray[np.uint64]:
    sigs = corpus_mod.model_signatures(corpus, np.random.default_rng([SEED, 0, start]), size)
    for index in range(start, start + size):
        if index in targets:
            sigs[index - start] = targets[index]
    return sigs


def _story_rows(start: int, sigs: NDArray[np.uint64]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "id": start + i + 1,
            "topic": TOPIC,
            "development_id": None,
            "url": f"https://bench.invalid/story/{start + i + 1}",
            "title": f"story {start + i + 1}",
            "created": now,
            "signature": signature_to_bytes(sig),
        }
        for i, sig in enumerate(sigs)
    ]


def _insert_bands(conn: Any, keys: NDArray[np.int64]) -> None:
    count, bands = keys.shape
    band = np.tile(np.arange(bands, dtype=np.int64), count)
    story = np.repeat(np.arange(1, count + 1, dtype=np.int64), bands)
    flat = keys.ravel()
    order = np.lexsort((story, flat, band))
    band, flat, story = band[order].tolist(), flat[order].tolist(), story[order].tolist()
    raw = conn.dialect.name == "sqlite"
    sql = str(insert(story_bands).compile(dialect=conn.dialect))
    for start in range(0, len(band), BAND_BATCH):
        part = zip(band[start : start + BAND_BATCH], flat[start:], story[start:], strict=False)
        if raw:
            conn.exec_driver_sql(sql, [(TOPIC, b, k, s) for b, k, s in part])
        else:
            rows = [{"topic": TOPIC, "band": b, "key": k, "story_id": s} for b, k, s in part]
            conn.execute(insert(story_bands), rows)


def build(url: str, label: str, corpus: Corpus, count: int, targets: dict[int, Any]) -> Backend:
    """A store made by Store.open, filled, then reopened by Store.open as newswatch would."""
    progress(f"{label}: filling {count:,} stories")
    Store.open(url).close()
    fill(url, corpus, count, targets)
    store = Store.open(url)
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:  # autovacuum would do it soon after a real load
            conn.exec_driver_sql("ANALYZE stories; ANALYZE story_bands")
    path = make_url(url).database if store.engine.dialect.name == "sqlite" else None
    size = os.path.getsize(path) if path else None
    backend = Backend(label, store, count, size)
    started = time.perf_counter()
    backend.ids, backend.matrix = load_matrix(store)
    progress(f"{label}: ready; all signatures read in {time.perf_counter() - started:.2f}s")
    return backend


# --- the methods -------------------------------------------------------------------------------


def _best(sig: Signature, rows: Sequence[tuple[int, bytes]]) -> Found:
    best_id, best_sim = None, 0.0
    for story_id, data in rows:
        sim = estimate_jaccard(sig, signature_from_bytes(data))
        if sim > best_sim:
            best_id, best_sim = story_id, sim
    return Found(best_id, best_sim, len(rows))


def lsh_store(backend: Backend, sig: Signature) -> Found:
    """Detection's lookup: Store.story_candidates on the band keys, then estimate_jaccard."""
    candidates = backend.store.story_candidates(TOPIC, tuple(enumerate(band_keys(sig))))
    return _best(sig, [(c.id, c.signature) for c in candidates])


def lsh_one_query(backend: Backend, sig: Signature) -> Found:
    """The same candidates in one statement: (band, key) IN (...) under a join to stories."""
    pairs = list(enumerate(band_keys(sig)))
    matching = (
        select(story_bands.c.story_id)
        .where(story_bands.c.topic == TOPIC)
        .where(tuple_(story_bands.c.band, story_bands.c.key).in_(pairs))
    )
    query = select(stories.c.id, stories.c.signature).where(stories.c.id.in_(matching))
    with backend.store.engine.begin() as conn:
        rows = [(r.id, r.signature) for r in conn.execute(query)]
    return _best(sig, rows)


def load_matrix(store: Store) -> tuple[NDArray[np.int64], NDArray[np.uint64]]:
    query = select(stories.c.id, stories.c.signature).where(stories.c.topic == TOPIC)
    with store.engine.begin() as conn:
        rows = conn.execute(query).all()
    ids = np.array([r.id for r in rows], dtype=np.int64)
    matrix = np.frombuffer(b"".join(r.signature for r in rows), dtype="<u8")
    return ids, matrix.astype(np.uint64).reshape(len(rows), -1)


def scan_memory(backend: Backend, sig: Signature) -> Found:
    """Baseline: every stored signature compared at once; same arithmetic as estimate_jaccard."""
    equal = np.count_nonzero(backend.matrix == sig, axis=1)
    best = int(np.argmax(equal))
    return Found(int(backend.ids[best]), float(equal[best]) / sig.size, len(equal))


def scan_store(backend: Backend, sig: Signature) -> Found:
    """Baseline as the store would run it: read every signature of the topic, compare each."""
    query = select(stories.c.id, stories.c.signature).where(stories.c.topic == TOPIC)
    with backend.store.engine.begin() as conn:
        return _best(sig, [(r.id, r.signature) for r in conn.execute(query)])


Method = Callable[[Backend, Signature], Found]
METHODS: dict[str, Method] = {
    "Store.story_candidates": lsh_store,
    "LSH in one query (proposal)": lsh_one_query,
    "scan, in memory (numpy)": scan_memory,
    "scan, from the store": scan_store,
}
SLOW = "scan, from the store"


# --- measuring ---------------------------------------------------------------------------------


def measure(backends: list[Backend], lookups: list[Lookup], slow_lookups: int) -> None:
    """Time every method on every lookup, alternating which store goes first."""
    for b in backends:  # warm-up: compiled statements, cached pages, numpy dispatch
        for method in METHODS.values():
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


def quantiles(values: list[float]) -> tuple[float, float]:
    """Median and 90th percentile, in milliseconds."""
    if len(values) < 2:
        return values[0] * 1e3, values[0] * 1e3
    return statistics.median(values) * 1e3, statistics.quantiles(values, n=10)[-1] * 1e3


def outcome(found: list[tuple[Lookup, Found]]) -> dict[str, Any]:
    """Near-duplicates whose best match is the copied story, new articles matched anyway."""
    dups = [(lk, f) for lk, f in found if lk.target is not None]
    new = [(lk, f) for lk, f in found if lk.target is None]
    hits = sum(f.story_id == lk.target and f.similarity >= STORY_THRESHOLD for lk, f in dups)
    return {
        "near_duplicates": len(dups),
        "found": hits,
        "recall": hits / len(dups) if dups else None,
        "new": len(new),
        "false_matches": sum(f.similarity >= STORY_THRESHOLD for _, f in new),
        "candidates_dup": statistics.fmean(f.candidates for _, f in dups) if dups else 0.0,
        "candidates_new": statistics.fmean(f.candidates for _, f in new) if new else 0.0,
    }


def query_plan(store: Store) -> str:
    """How the database runs Store.story_candidates' per-band SELECT."""
    sql = 'SELECT story_id FROM story_bands WHERE topic = :t AND band = :b AND "key" = :k'
    sqlite = store.engine.dialect.name == "sqlite"
    with store.engine.begin() as conn:
        rows = conn.execute(
            text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql),
            {"t": TOPIC, "b": 3, "k": 12345},
        ).all()
    return " | ".join(str(r[-1]) for r in rows)


def index_sizes(store: Store) -> dict[str, int]:
    """Bytes per table and index, where SQLite has the dbstat table."""
    if store.engine.dialect.name != "sqlite":
        return {}
    with store.engine.begin() as conn:
        try:
            rows = conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            return {str(name): int(size) for name, size in rows}
        except Exception:  # dbstat is a compile-time option of SQLite
            return {}
