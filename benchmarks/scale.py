"""One monitor cycle over many local feeds on many hosts, with one and two workers on PostgreSQL.

Run from the repository root:

    .venv/bin/python -m benchmarks.scale            # 50 and 250 feeds (a few minutes)
    .venv/bin/python -m benchmarks.scale --full     # also 1,000 feeds
    .venv/bin/python -m benchmarks.scale --feeds 100 --workers 1 2 4

A farm of RSS feeds (tests/feedfarm.py) is served on loopback hosts 127.0.2.2, 127.0.2.3, …
(four feeds per host); each feed lists `--articles` articles whose text matches a topic, each a
distinct story. For every (feeds, workers) pair a fresh database on a throwaway PostgreSQL
(tests/pgserver.py) gets two cycles, each by `workers` `newswatch run --shard I/N` processes
started together:

- baseline: every feed and article is new (fetched, parsed, matched, MinHash'd, stored);
- steady: one new article per feed; the known ones re-checked with conditional requests (304),
  which is what every later 10-minute cycle looks like.

A cycle's time is from the first run's start to the last run's end as the store records them
(the processes' ~2-4 s of Python start-up is shown apart). CPU is the workers' user+sys time
(the parse pool's processes, children of a fork server, are not counted). Store size is
PostgreSQL's database size after the baseline minus an empty store's, per article stored.
`per_host_delay` is --delay, default 0: the figures are the cost of the work itself. With a
delay, every request claims a shared per-host slot and each source's requests are at least the
delay (+ 0.1 s between processes) apart, so a cycle becomes bound by those waits instead.

The cost of the shared pacing itself is measured apart: one slot claim on PostgreSQL and on
SQLite, against the same claim table, in one process with nobody else claiming.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import create_engine, func, select, text

from benchmarks.bytecode import compile_project
from newswatch.store import Store
from newswatch.store.schema import articles, runs
from tests import pgserver
from tests.feedfarm import FeedFarm

ROOT = Path(__file__).resolve().parents[1]
FEEDS_PER_HOST = 4


@dataclass
class Cycle:
    feeds: int
    workers: int
    kind: str  # baseline | steady
    seconds: float  # first run start → last run end, from the store
    wall: float  # processes started → all exited
    cpu: float  # the workers' user+sys seconds
    articles: int  # articles fetched with a body (not 304) in this cycle
    requests: int
    per_source_ms: float
    per_article_ms: float
    commits: int = 0  # PostgreSQL transactions committed in the cycle (all workers)
    store_bytes_per_article: float | None = None


def fresh_database(server_url: str) -> str:
    name = f"b_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def db_size(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    engine.dispose()
    return size


def commits(url: str) -> int:
    """Transactions committed in this database so far (workers flush their counts on exit)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return int(found)


def run_span(url: str) -> tuple[list[tuple[datetime, datetime]], int]:
    """(start and finish of every run recorded so far, in order; articles stored)."""
    store = Store.open(url)
    with store.db.read() as conn:
        rows = conn.execute(select(runs.c.started, runs.c.finished).order_by(runs.c.id)).all()
        stored = int(conn.execute(select(func.count()).select_from(articles)).scalar_one())
    store.close()
    return [(r[0], r[1]) for r in rows], stored


def cycle(config: Path, workers: int) -> tuple[float, float]:
    """`workers` shard processes at once; returns (wall seconds, their CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    procs = []
    for i in range(1, workers + 1):
        args = [sys.executable, "-m", "newswatch.cli", "run", "-c", str(config)]
        if workers > 1:
            args += ["--shard", f"{i}/{workers}"]
        procs.append(
            subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0 or b", 0 failed;" not in out:
            raise SystemExit(f"a worker failed:\n{out.decode(errors='replace')[-3000:]}")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(
    server: str, feeds: int, workers: int, articles_per_feed: int, delay: float
) -> list[Cycle]:
    url = fresh_database(server)
    Store.open(url).close()
    empty = db_size(url)
    out = []
    with (
        FeedFarm(
            feeds, max(1, feeds // FEEDS_PER_HOST), initial=articles_per_feed, per_step=1
        ) as farm,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = Path(tmp) / "scale.yaml"
        data = {
            "store": url,
            "defaults": {"per_host_delay": delay, "timeout": "30s", "max_age": "30d"},
            "sources": farm.sources(),
            "topics": [{"name": "news", "any": ["ceasefire", "sanctions", "refugees"]}],
            "channels": [],
        }
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        seen_runs = 0
        for kind in ("baseline", "steady"):
            farm.clear()
            committed = commits(url)
            wall, cpu = cycle(config, workers)
            time.sleep(1.0)  # let the last statistics reach pg_stat_database
            committed = commits(url) - committed - 1
            rows, stored = run_span(url)
            mine = rows[seen_runs:]
            seen_runs = len(rows)
            span = (max(r[1] for r in mine) - min(r[0] for r in mine)).total_seconds()
            log = farm.log()
            bodies = sum(1 for r in log if r.path.startswith("/a/") and not r.conditional)
            c = Cycle(
                feeds, workers, kind, span, wall, cpu, bodies, len(log),
                per_source_ms=1000 * span / feeds,
                per_article_ms=1000 * span / max(1, bodies), commits=committed,
            )  # fmt: skip
            if kind == "baseline":
                c.store_bytes_per_article = (db_size(url) - empty) / max(1, stored)
            out.append(c)
            print(f"  {feeds} feeds, {workers} worker(s), {kind}: {span:.1f} s {c}", flush=True)
            farm.advance()
    return out


def claim_cost(server: str, claims: int = 400) -> dict[str, float]:
    """Median milliseconds of one slot claim, one process, nobody else claiming."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, url in (
            ("postgresql", fresh_database(server)),
            ("sqlite", f"sqlite:///{tmp}/p.db"),
        ):
            store = Store.open(url)
            times = []
            for i in range(claims):
                started = time.perf_counter()
                store.pacing.claim(f"h{i % 50}.example", 0.0, 0.0)
                times.append(time.perf_counter() - started)
            store.close()
            out[label] = 1000 * statistics.median(times)
    return out


def table(cycles: list[Cycle]) -> str:
    head = (
        "| feeds | workers | cycle | time (s) | per source (ms) | per article (ms) | "
        "CPU (s) | articles | requests | DB commits | store/article (KB) |\n|" + "---|" * 11
    )
    lines = [head]
    for c in cycles:
        size = f"{c.store_bytes_per_article / 1024:.1f}" if c.store_bytes_per_article else ""
        lines.append(
            f"| {c.feeds} | {c.workers} | {c.kind} | {c.seconds:.1f} | {c.per_source_ms:.0f} | "
            f"{c.per_article_ms:.0f} | {c.cpu:.1f} | {c.articles} | {c.requests} | {c.commits} | "
            f"{size} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="also 1,000 feeds")
    parser.add_argument("--feeds", type=int, nargs="*", help="feed counts (default 50 250)")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--articles", type=int, default=5, help="articles per feed at baseline")
    parser.add_argument("--delay", type=float, default=0.0, help="per_host_delay, seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    compile_project()
    sizes = args.feeds or ([50, 250, 1000] if args.full else [50, 250])
    if not pgserver.available():
        print("PostgreSQL server binaries are not installed: skipped")
        return 0
    cycles: list[Cycle] = []
    with pgserver.postgres() as server:
        cost = claim_cost(server)
        for feeds in sizes:
            for workers in args.workers:
                cycles += measure(server, feeds, workers, args.articles, args.delay)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"cycles": [asdict(c) for c in cycles], "claim_ms": cost, "load": load}))
        return 0
    print()
    print(table(cycles))
    print(
        f"\nshared pacing, one slot claim (median of 400, one process): "
        f"PostgreSQL {cost['postgresql']:.2f} ms, SQLite {cost['sqlite']:.2f} ms"
    )
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
