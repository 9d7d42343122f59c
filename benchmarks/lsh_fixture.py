"""Stores and lookups for benchmarks.lsh_scaling: real stores, bulk-filled with stories.

Story i is the same in every store, so a store of n stories holds the first n of a bigger one.
The stories that near-duplicate lookups copy are real text (see ``lsh_corpus``); the rest are
model signatures of the same make-up. Each store is made by ``Store.open``, bulk-filled through
SQLAlchemy Core (:func:`fill`), then opened again by ``Store.open`` as newswatch would.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import create_engine, event, insert, select
from sqlalchemy.engine import make_url

from benchmarks import lsh_corpus as corpus_mod
from benchmarks.lsh_corpus import Corpus
from newswatch.dedupe import (
    NUM_PERM,
    Signature,
    band_keys,
    estimate_jaccard,
    signature_to_bytes,
)
from newswatch.store import Store
from newswatch.store.schema import stories, story_bands

TOPIC = "bench-topic"

SEED = 2022
CHUNK = 2_000  # stories generated, keyed and inserted at a time
BAND_BATCH = 200_000
_START = time.perf_counter()


def elapsed() -> float:
    """Seconds since the benchmark started."""
    return time.perf_counter() - _START


def progress(message: str) -> None:
    print(f"[{elapsed():6.1f}s] {message}", flush=True)


@dataclass(frozen=True, slots=True)
class Lookup:
    signature: Signature
    target: int | None  # id of the stored story this article copies; None for a new story
    original: float = 0.0  # estimated Jaccard with the story it copies


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
        sig = corpus_mod.text_signature(corpus_mod.render(copy, rng))
        lookups.append(Lookup(sig, index + 1, estimate_jaccard(sig, targets[index])))
        fresh = np.random.default_rng([SEED, 3, n])
        lookups.append(Lookup(_text_story(corpus, fresh), None))
    return lookups, targets


def _text_story(corpus: Corpus, rng: np.random.Generator) -> Signature:
    return corpus_mod.text_signature(corpus_mod.render(corpus_mod.story(corpus, rng), rng))


def background(corpus: Corpus, targets: dict[int, Any]) -> dict[str, float]:
    """How alike unrelated stories are, written out as text and as model signatures."""
    real = corpus_mod.pair_similarity(np.array(list(targets.values())[:300]))
    model = corpus_mod.pair_similarity(
        corpus_mod.model_signatures(corpus, np.random.default_rng([SEED, 5]), 300)
    )
    out: dict[str, float] = {}
    for name, values in (("text", real), ("model", model)):
        out[f"{name}_mean"] = round(float(values.mean()), 4)
        out[f"{name}_p99"] = round(float(np.percentile(values, 99)), 4)
        out[f"{name}_max"] = round(float(values.max()), 4)
    return out


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

    save_observation would also write an article, a development and outbox rows per story, and
    commit each; this is a bulk load in one transaction instead (fine for a fixture): stories
    with Core ``insert()`` executemany, band rows sorted by the primary key and inserted in big
    batches (on SQLite through the DBAPI's executemany of the compiled insert, twice as fast as
    binding dicts). Story i is the same in every store, so a small store's stories are a big
    one's first ones.
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
    band = np.tile(np.arange(bands, dtype=np.int16), count)
    story = np.repeat(np.arange(1, count + 1, dtype=np.int32), bands)
    flat = keys.ravel()
    order = np.lexsort((story, flat, band))
    band, flat, story = band[order], flat[order], story[order]
    raw = conn.dialect.name == "sqlite"
    sql = str(insert(story_bands).compile(dialect=conn.dialect))
    for start in range(0, len(band), BAND_BATCH):
        end = start + BAND_BATCH
        columns = (band[start:end].tolist(), flat[start:end].tolist(), story[start:end].tolist())
        part = zip(*columns, strict=True)
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
            conn.exec_driver_sql("ANALYZE stories")
            conn.exec_driver_sql("ANALYZE story_bands")
    path = make_url(url).database if store.engine.dialect.name == "sqlite" else None
    size = os.path.getsize(path) if path else None
    backend = Backend(label, store, count, size)
    started = time.perf_counter()
    backend.ids, backend.matrix = load_matrix(store, count)
    progress(f"{label}: ready; all signatures read in {time.perf_counter() - started:.2f}s")
    return backend


ALL_SIGNATURES = select(stories.c.id, stories.c.signature).where(stories.c.topic == TOPIC)


def load_matrix(store: Store, count: int) -> tuple[NDArray[np.int64], NDArray[np.uint64]]:
    """Every stored signature of the topic in one matrix, read in batches to bound memory."""
    ids = np.empty(count, dtype=np.int64)
    matrix = np.empty((count, NUM_PERM), dtype=np.uint64)
    row = 0
    with store.engine.begin() as conn:
        for part in conn.execution_options(yield_per=CHUNK).execute(ALL_SIGNATURES).partitions():
            data = np.frombuffer(b"".join(r.signature for r in part), dtype="<u8")
            ids[row : row + len(part)] = [r.id for r in part]
            matrix[row : row + len(part)] = data.reshape(len(part), NUM_PERM)
            row += len(part)
    return ids[:row], matrix[:row]
