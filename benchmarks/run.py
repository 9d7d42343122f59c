"""`make bench`: runs every benchmark in turn, each in its own process, and prints its report."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHMARKS = [  # (label, module, what it measures, arguments)
    ("extraction", "extraction", "article extraction F1 and pages/s vs trafilatura", []),
    ("feeds", "feeds_vs_feedparser", "feed entries and speed vs feedparser, its test feeds", []),
    (
        "cycle",
        "cycle_cost",
        "a whole `newswatch run` vs a plain script, first and idle; then at 5x the feeds",
        ["--scale", "5"],
    ),
    ("big-feed", "big_feed", "one 100,000-item feed: baseline and idle run vs parsing it", []),
    ("prefect", "prefect_cost", "`newswatch run` as a Prefect flow run vs in-process, idle", []),
    ("dates", "dates", "published-date accuracy and time per page vs htmldate", []),
    ("similarity", "similarity_speed", "shingle, novelty and MinHash cost vs baselines", []),
    ("lsh", "lsh_scaling", "story lookup cost as history grows, LSH vs a full scan", []),
    ("alerts-dev", "alerts_eval", "alert precision/recall, development set (tuned on)", []),
    (
        "alerts-holdout",
        "alerts_eval",
        "alert precision/recall, held-out set (never tuned on)",
        ["--cases", "benchmarks/eval/holdout"],
    ),
    ("scale", "scale", "one cycle over 50 and 250 local feeds, 1 and 2 workers, PostgreSQL", []),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="run only these benchmarks")
    args = parser.parse_args(argv)
    failed = []
    for name, module, what, extra in BENCHMARKS:
        if args.names and name not in args.names:
            continue
        print(f"\n=== {name}: {what}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *extra], check=False)
        print(f"=== {name}: exit {done.returncode} in {time.perf_counter() - started:.1f} s")
        if done.returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
