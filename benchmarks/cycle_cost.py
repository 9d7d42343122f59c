"""A whole monitoring cycle against the least any pipeline must do, as ratios from one run.

Serves a local site of FEEDS feeds × ARTICLES pages (benchmarks/cycle_site.py), then times, as
whole processes, the plain script (benchmarks/plain_cycle.py: one requests session, trafilatura,
ETags in a JSON file) and `newswatch run` on a fresh SQLite store:

- first cycle: everything is new (newswatch: its baseline, every article fetched and recorded);
- idle cycle: the next one, where every request answers 304 Not Modified;

each repeated, median reported, with peak memory (the process and its parser workers).
Run from the repository root:

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
import threading
import time
from pathlib import Path

import yaml

from benchmarks.bytecode import compile_project
from benchmarks.cycle_site import CycleSite, SiteProcess

REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak memory (KiB) of one whole process with its children (the parser
    workers): the highest sum of their proportional set sizes seen, sampled every 250 ms, or
    the process's own peak RSS if that is higher. Fails loudly if the process fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            peak[0] = max(peak[0], tree_pss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command[:4])}… exited {proc.returncode}")
    return took, max(int(usage.ru_maxrss), peak[0])


def tree_pss(root: int) -> int:
    """Sum of the proportional set size (KiB) of `root` and all its descendants (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def newswatch_config(site: CycleSite | SiteProcess, folder: Path) -> Path:
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


def one_round(site: SiteProcess) -> dict[str, tuple[float, int]]:
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


def measure(feeds: int, articles: int, repeat: int, stall: bool) -> dict[str, float]:
    """Median wall seconds (and, under "... peak", peak RSS in MB) of each process kind."""
    rounds = []
    with SiteProcess(feeds, articles, stall=stall) as site:
        print(f"site: {feeds} feeds x {articles} articles, {site.kib:,.0f} KiB in all", flush=True)
        for _ in range(repeat):
            rounds.append(one_round(site))
    out = {k: statistics.median(r[k][0] for r in rounds) for k in rounds[0]}
    out.update({f"{k} peak": max(r[k][1] for r in rounds) / 1024 for k in rounds[0]})
    pages = feeds * articles
    print(f"median of {repeat} (whole processes, wall seconds):")
    for key in rounds[0]:
        per = f"{out[key] / pages * 1000:6.1f} ms/article" if "first" in key else ""
        print(f"  {key:18} {out[key]:7.2f} s  peak RSS {out[key + ' peak']:6.0f} MB  {per}")
    for cycle in ("first", "idle"):
        ratio = out[f"newswatch {cycle}"] / out[f"plain {cycle}"]
        print(f"ratio {cycle} cycle, newswatch / plain script: {ratio:.2f}x", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--articles", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        help="also run once at this many times the feeds and compare the time per article",
    )
    parser.add_argument(
        "--no-stall",
        action="store_true",
        help="the site answers at once (no ~40 ms per page): CPU time only",
    )
    args = parser.parse_args(argv)
    compile_project()
    stall = not args.no_stall
    print("site latency: " + ("~40 ms per page, ~2 ms per 304" if stall else "none (CPU only)"))
    base = measure(args.feeds, args.articles, args.repeat, stall)
    if args.scale > 1:
        feeds = args.feeds * args.scale
        print(f"\nat {args.scale}x the feeds:")
        big = measure(feeds, args.articles, 1, stall)
        for key in ("newswatch first", "newswatch idle", "plain first", "plain idle"):
            per_base = base[key] / (args.feeds * args.articles)
            per_big = big[key] / (feeds * args.articles)
            print(f"time per article at {args.scale}x / at 1x, {key}: {per_big / per_base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
