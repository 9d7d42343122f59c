"""What a Prefect API costs a `newswatch run`: the same cycle in-process and as a flow run.

Serves a local site of FEEDS feeds × ARTICLES pages from a process of its own
(benchmarks/cycle_site.py, with cycle_cost's latency: ~40 ms per page, ~2 ms per 304), starts a
local `prefect server start` (SQLite, its own PREFECT_HOME in a temporary directory, analytics
off, as `newswatch serve` does), then times whole processes of `python -m newswatch run -c CONFIG`:

- in-process: PREFECT_API_URL unset;
- flow run: PREFECT_API_URL set to that server (the `monitor` flow run and its task runs);

for the idle cycle (after a first cycle, every request answers 304 Not Modified; the runs
alternate so drift hits both alike) and, with --first N, the first cycle on a fresh store.
Between runs it waits for the server to go quiet (it records task runs, logs and events after
the client has exited), so one run's ingestion does not slow the next. Reported per mode:
median wall seconds, median CPU seconds of the `newswatch` process, peak RSS, and the server's
CPU seconds per run (work the API does for the run, on the same cores). Run from the repo root:

    .venv/bin/python -m benchmarks.prefect_cost [--feeds 20] [--articles 25] [--repeat 5]
        [--first N] [--baseline OTHER_CHECKOUT]

With --baseline, the same two modes from another checkout (an older commit, unpacked) alternate
with this one's against the same server, site and store, so a before/after comparison shares
the machine's load.

Nothing is asserted: figures, the difference in seconds and the ratio are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bytecode import compile_project
from benchmarks.cycle_cost import REPO, newswatch_config
from benchmarks.cycle_site import SiteProcess
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


@dataclass(frozen=True)
class Mode:
    """How `newswatch run` is started: from which checkout, with or without PREFECT_API_URL."""

    name: str
    checkout: Path
    env: dict[str, str]


def run_once(config: Path, mode: Mode, server: LocalServer) -> Sample:
    """One whole `newswatch run` process (stdout dropped, stderr kept next to the config)."""
    command = [sys.executable, "-m", "newswatch", "run", "-c", str(config)]
    errors = config.with_suffix(".stderr")
    before = tree_cpu(server.process.pid)
    started = time.perf_counter()
    with open(errors, "wb") as err:
        proc = subprocess.Popen(
            command, cwd=mode.checkout, env=mode.env, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code:
        tail = errors.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{mode.name}: newswatch run -c {config} exited {code}:\n{tail}")
    served = tree_cpu(server.process.pid) - before + settle(server)
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, served)


def import_floor(mode: Mode) -> Sample:
    """A process that only imports Prefect: what any flow run of a fresh process pays first, so
    the least a flow run can cost over in-process, whatever newswatch does."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "import prefect"], env=mode.env)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit("python -c 'import prefect' failed")
    wall = time.perf_counter() - started
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, 0.0)


def modes(api_url: str, home: Path, baseline: Path | None) -> list[Mode]:
    """In-process and flow run, for this checkout and (--baseline) another one, alternating."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    base.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1")
    out = []
    for checkout, label in [(REPO, ""), (baseline, " (baseline)")]:
        if checkout is None:
            continue
        env = {**base, "PYTHONPATH": str(checkout)}
        out.append(Mode(f"in-process{label}", checkout, env))
        out.append(Mode(f"flow run{label}", checkout, {**env, "PREFECT_API_URL": api_url}))
    return out


def measure(
    site: SiteProcess,
    server: LocalServer,
    folder: Path,
    args: argparse.Namespace,
) -> dict[str, list[Sample]]:
    if args.baseline is not None:
        compile_project(args.baseline)
    ways = modes(server.api_url, folder / "client-home", args.baseline)
    samples: dict[str, list[Sample]] = {}
    for n in range(args.first):
        for mode in ways:
            sub = folder / f"first-{n}-{ways.index(mode)}"
            sub.mkdir()
            samples.setdefault(f"first, {mode.name}", []).append(
                run_once(newswatch_config(site, sub), mode, server)
            )
    idle = folder / "idle"
    idle.mkdir()
    config = newswatch_config(site, idle)
    run_once(config, ways[0], server)  # the first cycle: baseline, ETags stored
    for mode in ways[1:]:
        run_once(config, mode, server)  # warm-up: the flow and tasks registered
    for _ in range(args.repeat):
        for mode in ways:
            samples.setdefault(f"idle, {mode.name}", []).append(run_once(config, mode, server))
        samples.setdefault("import prefect alone", []).append(import_floor(ways[0]))
    return samples


def report(samples: dict[str, list[Sample]]) -> None:
    print("whole processes, medians (wall and CPU), peak RSS the largest seen:")
    print(f"  {'':32} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7} {'server cpu s':>13}  runs (wall)")
    med: dict[str, float] = {}
    for key, runs in samples.items():
        med[key] = statistics.median(s.wall for s in runs)
        cpu = statistics.median(s.cpu for s in runs)
        rss = max(s.rss_mb for s in runs)
        served = statistics.median(s.server_cpu for s in runs)
        walls = ", ".join(f"{s.wall:.2f}" for s in runs)
        print(f"  {key:32} {med[key]:7.2f} {cpu:7.2f} {rss:7.0f} {served:13.2f}  {walls}")
    for cycle in ("first", "idle"):
        for label in ("", " (baseline)"):
            flows = samples.get(f"{cycle}, flow run{label}")
            plains = samples.get(f"{cycle}, in-process{label}")
            if not flows or not plains:
                continue
            flow, plain = med[f"{cycle}, flow run{label}"], med[f"{cycle}, in-process{label}"]
            # Each round runs the modes back to back: their difference within a round shares
            # the machine's load of that moment, so its median drifts less than the medians'.
            paired = statistics.median(f.wall - p.wall for f, p in zip(flows, plains, strict=True))
            cpu = statistics.median(f.cpu - p.cpu for f, p in zip(flows, plains, strict=True))
            print(
                f"{cycle} cycle{label}: flow run costs {flow - plain:+.2f} s over in-process "
                f"({flow / plain:.2f}x); per round, median {paired:+.2f} s wall, "
                f"{cpu:+.2f} s CPU"
            )
    if "import prefect alone" in med:
        print(
            f"of which `import prefect` alone, in a process of its own: "
            f"{med['import prefect alone']:.2f} s (the floor of any flow run's extra cost)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--articles", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=5, help="idle runs per mode")
    parser.add_argument("--first", type=int, default=0, help="first-cycle runs per mode")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git archive main | tar -x -C DIR`) timed alongside",
    )
    args = parser.parse_args(argv)
    compile_project()
    with (
        tempfile.TemporaryDirectory(prefix="nw-prefect-cost-") as scratch,
        SiteProcess(args.feeds, args.articles) as site,
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
            report(measure(site, server, folder, args))
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
