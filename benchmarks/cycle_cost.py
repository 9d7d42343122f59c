"""A whole monitoring cycle against the least any pipeline must do, as ratios from one run.

Serves a local site of FEEDS feeds × ARTICLES pages (benchmarks/cycle_site.py), then times, as
whole processes, the plain script (benchmarks/plain_cycle.py: one requests session, trafilatura,
ETags in a JSON file) and `newswatch run` on a fresh SQLite store:

- first cycle: everything is new (newswatch: its baseline, every article fetched and recorded);
- idle cycle: the next one, where every request answers 304 Not Modified;

each repeated, median reported, with newswatch's peak RSS. Run from the repository root:

    .venv/bin/python -m benchmarks.cycle_cost [--feeds 20] [--articles 25] [--repeat 3]

Nothing here is asserted: the figures and ratios are printed (the README quotes them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.cycle_site import CycleSite

REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole process; fails loudly if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command[:4])}… exited {proc.returncode}")
    return took, int(usage.ru_maxrss)


def newswatch_config(site: CycleSite, folder: Path) -> Path:
    config = {
        "store": f"sqlite:///{folder}/bench.db",
        "defaults": {"per_host_delay": 0, "max_age": "30d"},
        "sources": [{"name": f"feed-{n}", "feed": site.feed_url(n)} for n in range(site.feeds)],
        "topics": [{"name": "talks", "any": ["talks", "negotiations"]}],
        "channels": [],
    }
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def one_round(site: CycleSite) -> dict[str, tuple[float, int]]:
    """First and idle cycle of both, each from a clean state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    feeds = [site.feed_url(n) for n in range(site.feeds)]
    out: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="nw-cycle-") as scratch:
        folder = Path(scratch)
        plain = [sys.executable, "-m", "benchmarks.plain_cycle", str(folder / "etags.json"), *feeds]
        out["plain first"] = timed(plain)
        out["plain idle"] = timed(plain)
        config = newswatch_config(site, folder)
        run = [sys.executable, "-m", "newswatch", "run", "-c", str(config)]
        out["newswatch first"] = timed(run, env)
        out["newswatch idle"] = timed(run, env)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--articles", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rounds = []
    with CycleSite(args.feeds, args.articles) as site:
        kb = sum(len(p) for p in site.pages.values()) / 1024
        print(f"site: {args.feeds} feeds x {args.articles} articles, {kb:,.0f} KiB in all")
        for _ in range(args.repeat):
            rounds.append(one_round(site))
    median = {k: statistics.median(r[k][0] for r in rounds) for k in rounds[0]}
    peak = {k: max(r[k][1] for r in rounds) / 1024 for k in rounds[0]}
    articles = args.feeds * args.articles
    print(f"median of {args.repeat} (whole processes, wall seconds):")
    for key in median:
        per = f"{median[key] / articles * 1000:6.1f} ms/article" if "first" in key else ""
        print(f"  {key:18} {median[key]:7.2f} s  peak RSS {peak[key]:6.0f} MB  {per}")
    for cycle in ("first", "idle"):
        ratio = median[f"newswatch {cycle}"] / median[f"plain {cycle}"]
        print(f"ratio {cycle} cycle, newswatch / plain script: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
