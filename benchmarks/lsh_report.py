"""What benchmarks.lsh_scaling prints: per-lookup times, ratios, recall, the query plan."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import text

from benchmarks import lsh_corpus as corpus_mod
from benchmarks.lsh_fixture import TOPIC, Backend, Found, Lookup
from newswatch.dedupe import BANDS, STORY_THRESHOLD
from newswatch.store import Store


def quantiles(values: list[float]) -> tuple[float, float | None]:
    """Median and 90th percentile in milliseconds; no percentile from fewer than 10 values."""
    p90 = statistics.quantiles(values, n=10)[-1] * 1e3 if len(values) >= 10 else None
    return statistics.median(values) * 1e3, p90


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


def paragraphs_label(stories_count: int) -> str:
    count = stories_count * corpus_mod.PARAGRAPHS
    return f"{count // 1_000_000}M" if count % 1_000_000 == 0 else f"{count // 1000}k"


def _method(small: Backend, big: Backend, name: str) -> dict[str, Any]:
    s_med, s_p90 = quantiles(small.times[name])
    b_med, b_p90 = quantiles(big.times[name])
    return {
        "lookups": len(small.times[name]),
        "small_median_ms": round(s_med, 3),
        "small_p90_ms": None if s_p90 is None else round(s_p90, 3),
        "big_median_ms": round(b_med, 3),
        "big_p90_ms": None if b_p90 is None else round(b_p90, 3),
        "ratio_median": round(b_med / s_med, 2),
        "ratio_p90": None if s_p90 is None or b_p90 is None else round(b_p90 / s_p90, 2),
        "small": outcome(small.found[name]),
        "big": outcome(big.found[name]),
    }


def summarize(small: Backend, big: Backend) -> dict[str, Any]:
    """Sizes, per-method times and ratios (big / small), recall, and the band query's plan."""
    return {
        "stores": {
            b.label: {
                "stories": b.count,
                "paragraphs": b.count * corpus_mod.PARAGRAPHS,
                "band_rows": b.count * BANDS,
                "file_mb": round(b.db_bytes / 1e6, 1) if b.db_bytes else None,
            }
            for b in (small, big)
        },
        "methods": {name: _method(small, big, name) for name in small.times},
        "plan": query_plan(big.store),
    }


def _cell(value: float | None, width: int) -> str:
    return f"{value:{width}.2f}" if value is not None else f"{'-':>{width}s}"


def _print_sizes(summary: dict[str, Any], big: Backend) -> None:
    print(f"\n{'store':8s}{'stories':>10s}{'paragraphs':>12s}{'band rows':>12s}{'file MB':>10s}")
    for label, s in summary["stores"].items():
        mb = f"{s['file_mb']:10.1f}" if s["file_mb"] is not None else f"{'-':>10s}"
        print(f"{label:8s}{s['stories']:>10,}{s['paragraphs']:>12,}{s['band_rows']:>12,}{mb}")
    sizes = index_sizes(big.store)
    if sizes:
        parts = ", ".join(f"{k} {v / 1e6:.0f}" for k, v in sorted(sizes.items()) if v > 1e6)
        print(f"  {big.label} on disk, MB: {parts}")


def _print_times(summary: dict[str, Any], s_l: str, b_l: str) -> None:
    print(
        f"\nper lookup, ms (lookups){'':12s}{s_l + ' median':>12s}{'p90':>8s}"
        f"{b_l + ' median':>12s}{'p90':>8s}{b_l + '/' + s_l:>10s}{'(p90)':>7s}"
    )
    for name, m in summary["methods"].items():
        print(
            f"  {name:28s} ({m['lookups']:3d}){_cell(m['small_median_ms'], 12)}"
            f"{_cell(m['small_p90_ms'], 8)}{_cell(m['big_median_ms'], 12)}"
            f"{_cell(m['big_p90_ms'], 8)}{_cell(m['ratio_median'], 10)}{_cell(m['ratio_p90'], 7)}"
        )


def _print_recall(summary: dict[str, Any], s_l: str, b_l: str) -> None:
    print(
        f"\nnear-duplicates found (best match is the copied story, similarity >= "
        f"{STORY_THRESHOLD}); new articles matched anyway; candidates read (near-dup / new)"
    )
    for name, m in summary["methods"].items():
        cells = [
            f"{label}: {o['found']}/{o['near_duplicates']}, {o['false_matches']} false, "
            f"{o['candidates_dup']:.1f} / {o['candidates_new']:.1f}"
            for label, o in ((s_l, m["small"]), (b_l, m["big"]))
        ]
        print(f"  {name:28s} " + "   ".join(cells))


def scans(plan: str) -> bool:
    """Whether a plan reads story_bands by scanning (SQLite "SCAN", PostgreSQL "Seq Scan")."""
    steps = [step.strip().upper() for step in plan.split(" | ")]
    return any(step.startswith("SCAN") or "SEQ SCAN" in step for step in steps)


def print_report(summary: dict[str, Any], small: Backend, big: Backend) -> None:
    _print_sizes(summary, big)
    _print_times(summary, small.label, big.label)
    _print_recall(summary, small.label, big.label)
    print(f"\nquery plan of one band lookup ({big.label}): {summary['plan']}")
    if scans(summary["plan"]):
        print("  WARNING: the band lookup is not an index search")
