"""Fixtures for the Prefect layer: a real server, the work pool, `prefect deploy`, a worker, runs.

Everything runs as subprocesses with their own temporary PREFECT_HOME; the test process itself
never imports prefect. All of it is session-scoped because each Prefect process costs seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from newswatch.demo.site import NewsDaySite

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
SITE_VAR = re.compile(r"\$\{NEWSWATCH_DEMO_SITE(?::-[^}]*)?\}")
RUN_ID = re.compile(r"UUID: ([0-9a-f-]{36})")
API_RETRIES = 5
CLI_TIMEOUT = 240  # seconds; every Prefect CLI call pays a cold import on this machine
STOP_GRACE = 15
LATE_BY = timedelta(minutes=45)
Popen = subprocess.Popen[bytes]


@dataclass
class Stack:
    """A running Prefect server and the environment every `prefect` command needs to reach it."""

    api_url: str
    env: dict[str, str]
    logs: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, "--no-prompt", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )

    def start(self, name: str, *args: str) -> Popen:
        """A long-running `prefect …` process; its output goes to logs/<name>.log."""
        with open(self.logs / f"{name}.log", "wb") as out:
            proc = subprocess.Popen(
                [PREFECT, *args],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return proc

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call; retried on 503, which the server answers for errors a client may retry
        (SQLite "database is locked" under load), as Prefect's own client does."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(API_RETRIES + 1):
            req = urllib.request.Request(
                self.api_url + path,
                data=data,
                method=method,
                headers={"content-type": "application/json"},
            )
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.load(resp)
            except urllib.error.HTTPError as exc:
                if exc.code != 503 or attempt == API_RETRIES:
                    raise
                time.sleep(1 + attempt)
        raise AssertionError("unreachable")


@dataclass
class FlowRun:
    """A `prefect deployment run … --watch` that ended: exit code, output, flow-run id."""

    returncode: int
    output: str
    run_id: str | None
    config: str  # the config file the run was given; its store sits next to it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: Popen, *signals: signal.Signals) -> None:
    """Send each signal in turn, waiting between them; KILL if the process is still there."""
    for sig in signals:
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def tail(text: str, chars: int = 4000) -> str:
    return text[-chars:]


def prefect_env(home: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_CLI_PROMPT="false",
        NEWSWATCH_DIR=str(ROOT),  # read by the pull step in prefect.yaml at deploy time
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_WORKER_PREFETCH_SECONDS="2",
    )
    return env


@pytest.fixture(scope="session")
def news_site() -> Iterator[NewsDaySite]:
    with NewsDaySite(host="127.0.0.1", port=0) as site:
        yield site


@pytest.fixture(scope="session")
def site_config(
    news_site: NewsDaySite, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], str]:
    """config/demo.yaml aimed at the running site; a store of its own per name; no channels."""
    folder = tmp_path_factory.mktemp("configs")
    text = SITE_VAR.sub(news_site.base_url, DEMO_CONFIG.read_text())

    def make(name: str) -> str:
        data = yaml.safe_load(text)
        data["store"] = f"sqlite:///{folder / name}.db"
        data["defaults"]["per_host_delay"] = 0
        data["channels"] = []
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return str(path)

    return make


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`prefect server start` on a free port, without the scheduler.

    The deployments carry schedules and the default config names real news sites: with the
    scheduler on, a scheduled monitor run could reach the internet from a test.
    """
    base = tmp_path_factory.mktemp("prefect")
    logs = base / "logs"
    logs.mkdir()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    stack = Stack(api_url, prefect_env(base / "home", api_url), logs)
    server = stack.start(
        "server",
        *("server", "start", "--host", "127.0.0.1", "--port", str(port)),
        *("--no-scheduler", "--no-late-runs", "--no-ui"),
    )
    try:
        ready = stack.cli("server", "status", "--wait", "--timeout", "180")
        assert ready.returncode == 0, ready.stdout + ready.stderr + tail(stack.log("server"))
        yield stack
    finally:
        stop(server, signal.SIGTERM)


@pytest.fixture(scope="session")
def worker(prefect_server: Stack) -> Iterator[Stack]:
    """The `newswatch` process pool, the deployments of prefect.yaml, and a worker polling it."""
    pool = prefect_server.cli(
        "work-pool", "create", "newswatch", "--type", "process", "--overwrite"
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = prefect_server.cli("deploy", "--all")
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    proc = prefect_server.start("worker", "worker", "start", "--pool", "newswatch", "--limit", "3")
    try:
        yield prefect_server
    finally:
        # The process worker often ignores the first TERM for a while (measured): TERM, then INT.
        stop(proc, signal.SIGTERM, signal.SIGINT)


def backfill_cases(today: datetime) -> dict[str, dict[str, str]]:
    """The README's form (bare dates; `until` covers that whole day), and a reversed window."""
    yesterday = (today - timedelta(days=1)).date().isoformat()
    return {
        "window": {"since": yesterday, "until": today.date().isoformat(), "notify": "none"},
        "reversed": {"since": today.date().isoformat(), "until": yesterday},
    }


def start_run(stack: Stack, name: str, deployment: str, params: dict[str, str]) -> Popen:
    return stack.start(
        f"run-{name}",
        *("deployment", "run", deployment, "--watch", "--watch-interval", "1"),
        *("--watch-timeout", str(CLI_TIMEOUT)),
        *(arg for key, value in params.items() for arg in ("--param", f"{key}={value}")),
    )


def create_late_monitor_run(stack: Stack, config: str) -> str:
    """A monitor run whose scheduled time lies LATE_BY in the past, as after downtime."""
    deployment = stack.api("GET", "/deployments/name/monitor/monitor")
    scheduled = datetime.now(UTC) - LATE_BY
    run = stack.api(
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        {
            "parameters": {"config": config},
            "state": {
                "type": "SCHEDULED",
                "state_details": {"scheduled_time": scheduled.isoformat()},
            },
        },
    )
    return str(run["id"])


def finish(stack: Stack, name: str, proc: Popen, config: str, run_id: str | None = None) -> FlowRun:
    code = proc.wait(CLI_TIMEOUT + 60)
    output = stack.log(f"run-{name}")
    found = RUN_ID.search(output)
    return FlowRun(code, output, run_id or (found.group(1) if found else None), config)


@pytest.fixture(scope="session")
def flow_runs(worker: Stack, site_config: Callable[[str], str]) -> dict[str, FlowRun]:
    """monitor and the backfills run together; then a monitor run that starts 45 min late.

    The late one waits for the first monitor run: the deployment's concurrency limit would
    cancel one of two monitor runs at once.
    """
    runs = {"monitor": ("monitor/monitor", {"config": site_config("monitor")})}
    for case, params in backfill_cases(datetime.now(UTC)).items():
        runs[case] = ("backfill/backfill", {"config": site_config(case), **params})
    started = {name: start_run(worker, name, *run) for name, run in runs.items()}
    try:
        done = {
            "monitor": finish(worker, "monitor", started["monitor"], runs["monitor"][1]["config"])
        }
        late_config = site_config("late")
        late_id = create_late_monitor_run(worker, late_config)
        started["late"] = worker.start(
            "run-late", "flow-run", "watch", late_id, "--timeout", str(CLI_TIMEOUT)
        )
        for name, (_, params) in runs.items():
            if name != "monitor":
                done[name] = finish(worker, name, started[name], params["config"])
        done["late"] = finish(worker, "late", started["late"], late_config, late_id)
    finally:
        for proc in started.values():
            stop(proc, signal.SIGTERM)
    return done
