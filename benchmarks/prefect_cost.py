"""What a Prefect API costs a `newswatch run`: the same cycle in-process and as a flow run.

Serves a local site of FEEDS feeds × ARTICLES pages (benchmarks/cycle_site.py), starts a local
`prefect server start` (SQLite, its own PREFECT_HOME in a temporary directory, analytics off,
as `newswatch serve` does), then times whole processes of `python -m newswatch run -c CONFIG`:

- in-process: PREFECT_API_URL unset;
- flow run: PREFECT_API_URL set to that server (the `monitor` flow, a task run per source);

for the idle cycle (after a first cycle, every request answers 304 Not Modified; the runs
alternate so drift hits both alike) and, with --first N, the first cycle on a fresh store.
Between runs it waits for the server to go quiet (it records task runs, logs and events after
the client has exited), so one run's ingestion does not slow the next. Reported per mode:
median wall seconds, median CPU seconds of the `newswatch` process, peak RSS, and the server's
CPU seconds per run (work the API does for the run, on the same cores). Run from the repo root:

    .venv/bin/python -m benchmarks.prefect_cost [--feeds 20] [--articles 25] [--repeat 5]

Nothing is asserted: figures, the difference in seconds and the ratio are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cycle_cost import REPO, newswatch_config
from benchmarks.cycle_site import CycleSite
from flows.serve import LocalServer, start_local_server

CLK_TCK = os.sysconf("SC_CLK_TCK")
QUIET_CPU = 0.05  # server CPU seconds per QUIET_WINDOW below which it counts as idle
QUIET_WINDOW = 0.5
QUIET_MAX = 60.0


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float  # user + system seconds of the newswatch process
    rss_mb: float
    server_cpu: float  # seconds the server spent from the run's start until it was quiet again


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of `root` and its live descendants (from /proc)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(p for p, (parent, _) in stats.items() if parent == pid)
    return total


def settle(server: LocalServer) -> float:
    """Wait until the server does (almost) nothing for QUIET_WINDOW; its CPU seconds meanwhile."""
    start = last = tree_cpu(server.process.pid)
    deadline = time.monotonic() + QUIET_MAX
    while time.monotonic() < deadline:
        time.sleep(QUIET_WINDOW)
        now = tree_cpu(server.process.pid)
        if now - last < QUIET_CPU:
            break
        last = now
    return tree_cpu(server.process.pid) - start


def run_once(config: Path, env: dict[str, str], server: LocalServer) -> Sample:
    """One whole `newswatch run` process (stdout dropped, stderr kept next to the config)."""
    command = [sys.executable, "-m", "newswatch", "run", "-c", str(config)]
    errors = config.with_suffix(".stderr")
    outputs = [
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, str(errors), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    before = tree_cpu(server.process.pid)
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, env, file_actions=outputs)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if code := os.waitstatus_to_exitcode(status):
        tail = errors.read_text(errors="replace")[-3000:]
        raise SystemExit(f"newswatch run -c {config} exited {code}:\n{tail}")
    served = tree_cpu(server.process.pid) - before + settle(server)
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, served)


def envs(api_url: str, home: Path) -> dict[str, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", PYTHONPATH=str(REPO))
    return {"in-process": dict(base), "flow run": {**base, "PREFECT_API_URL": api_url}}


def measure(
    site: CycleSite, server: LocalServer, folder: Path, repeat: int, first: int
) -> dict[str, list[Sample]]:
    modes = envs(server.api_url, folder / "client-home")
    samples: dict[str, list[Sample]] = {}
    for n in range(first):
        for mode, env in modes.items():
            sub = folder / f"first-{n}-{mode.replace(' ', '-')}"
            sub.mkdir()
            samples.setdefault(f"first, {mode}", []).append(
                run_once(newswatch_config(site, sub), env, server)
            )
    idle = folder / "idle"
    idle.mkdir()
    config = newswatch_config(site, idle)
    run_once(config, modes["in-process"], server)  # the first cycle: baseline, ETags stored
    run_once(config, modes["flow run"], server)  # warm-up: the flow and tasks registered
    for _ in range(repeat):
        for mode, env in modes.items():
            samples.setdefault(f"idle, {mode}", []).append(run_once(config, env, server))
    return samples


def report(samples: dict[str, list[Sample]]) -> None:
    print("whole processes, medians (wall and CPU), peak RSS the largest seen:")
    print(f"  {'':22} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7} {'server cpu s':>13}  runs (wall)")
    med: dict[str, float] = {}
    for key, runs in samples.items():
        med[key] = statistics.median(s.wall for s in runs)
        cpu = statistics.median(s.cpu for s in runs)
        rss = max(s.rss_mb for s in runs)
        served = statistics.median(s.server_cpu for s in runs)
        walls = ", ".join(f"{s.wall:.2f}" for s in runs)
        print(f"  {key:22} {med[key]:7.2f} {cpu:7.2f} {rss:7.0f} {served:13.2f}  {walls}")
    for cycle in ("first", "idle"):
        if f"{cycle}, flow run" not in med:
            continue
        flow, plain = med[f"{cycle}, flow run"], med[f"{cycle}, in-process"]
        print(
            f"{cycle} cycle: flow run costs {flow - plain:+.2f} s over in-process "
            f"({flow / plain:.2f}x)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--articles", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=5, help="idle runs per mode")
    parser.add_argument("--first", type=int, default=0, help="first-cycle runs per mode")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="nw-prefect-cost-") as scratch,
        CycleSite(args.feeds, args.articles) as site,
    ):
        folder = Path(scratch)
        started = time.perf_counter()
        server = start_local_server(folder / "server-home")
        try:
            print(
                f"site: {args.feeds} feeds x {args.articles} articles; Prefect server up in "
                f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f} "
                "(other work on these cores slows both modes and adds noise)",
                flush=True,
            )
            report(measure(site, server, folder, args.repeat, args.first))
            print(
                "load average (1, 5, 15 min) at the end: {:.1f} {:.1f} {:.1f}".format(
                    *os.getloadavg()
                )
            )
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
