"""`newswatch serve`: a local Prefect server when none is named, and the three flows on schedules.

Prefect is imported only after PREFECT_API_URL is settled, so this process and every flow run it
starts talk to the right server (never to Prefect's slow temporary one).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from newswatch import __version__
from newswatch.config import defer_secrets, format_duration, load_config
from newswatch.errors import NewswatchError, UsageError
from newswatch.models import Config

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

SERVER_HOST = "127.0.0.1"
FIRST_PORT = 4200
PORTS_TO_TRY = 50
STARTUP_TIMEOUT = 180.0  # a new SQLite database is migrated first: ~20 s here, more under load
STOP_GRACE = 10.0
PREFECT_HOME = Path("state/prefect")
RUNNER_POLL = 5.0  # seconds between the runner's looks for due runs (Prefect's default: 10)
LATE_GRACE = timedelta(minutes=2)  # a scheduled run this late on start was missed
ON_START = "on-start"  # the tag of the monitor runs serve starts at once


@dataclass
class LocalServer:
    """A `prefect server start` subprocess owned by this process."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def ui_url(self) -> str:
        return f"http://{SERVER_HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def stop(self) -> None:
        """TERM, wait, then KILL: the server must not outlive `newswatch serve`."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port(first: int = FIRST_PORT, tries: int = PORTS_TO_TRY) -> int:
    """`first`, or the next port after it that nothing listens on."""
    for port in range(first, first + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # uvicorn binds with SO_REUSEADDR, so a port in TIME_WAIT is free for it too.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((SERVER_HOST, port))
            except OSError:
                continue
            return port
    raise NewswatchError(f"no free port for the Prefect server in {first}..{first + tries - 1}")


def server_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",  # also avoids SQLite "database is locked" noise
        DO_NOT_TRACK="1",
    )
    return env


def start_local_server(home: Path = PREFECT_HOME, timeout: float = STARTUP_TIMEOUT) -> LocalServer:
    """Start `prefect server start` on SQLite under `home`; return once /api/health answers."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = home / "server.log"
    prefect_cli = Path(sys.executable).with_name("prefect")
    command = [str(prefect_cli), "server", "start", "--host", SERVER_HOST, "--port", str(port)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            env=server_env(home),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the server after serving
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    server = LocalServer(process, port, log_path)
    try:
        _wait_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if we die without cleaning up (e.g. SIGKILL).

    A stray server would keep the port and the SQLite file, and the next `serve` would start a
    second server on the same database.
    """
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_healthy(server: LocalServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise NewswatchError(
                f"the Prefect server exited with status {server.process.returncode}; "
                f"see {server.log_path}:\n{_tail(server.log_path)}"
            )
        if _healthy(server.api_url):
            return
        time.sleep(0.5)
    raise NewswatchError(
        f"the Prefect server did not answer {server.api_url}/health within {timeout:.0f} s; "
        f"see {server.log_path}"
    )


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    with open(path, "rb") as fh:
        return b"\n".join(fh.read().splitlines()[-lines:]).decode("utf-8", "replace")


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def serve(config: str, limit: int = 2, out: IO[str] | None = None) -> None:
    """Serve monitor, digest and backfill until Ctrl-C or SIGTERM, then stop our server.

    On start it ends the runs an earlier `serve` left in flight (so none holds the monitor's
    one-at-a-time slot) and starts a monitor run at once; on stop it ends its own again.
    """
    out = out or sys.stdout
    if limit < 1:
        raise UsageError(f"serve: the run limit must be at least 1, not {limit}")
    config_path = str(Path(config).resolve())
    # Bad config fails before any start; secrets are read by each flow run, from its server.
    groups = monitor_groups(load_config(config_path, secrets=defer_secrets))
    # Until Prefect's runner installs its own handler, SIGTERM must unwind through `finally`.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    server: LocalServer | None = None
    try:
        if not os.environ.get("PREFECT_API_URL"):
            print(f"starting a local Prefect server (state in {PREFECT_HOME}/)…", file=out)
            server = start_local_server()
            os.environ["PREFECT_API_URL"] = server.api_url
        ui = os.environ["PREFECT_API_URL"].rstrip("/").removesuffix("/api")
        print(f"Prefect UI: {ui}", file=out, flush=True)
        _serve_deployments(config_path, groups, limit, out)
    except KeyboardInterrupt:
        print("stopping…", file=out, flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            server.stop()
            print("Prefect server stopped", file=out)


def monitor_groups(config: Config) -> list[tuple[str, float, list[str] | None]]:
    """(deployment name, interval, sources) for the monitor: one per distinct source interval.

    Sources on the default interval run in `monitor` (all sources when there is one interval);
    others in `monitor-every-<interval>`, so a per-source `interval` is honoured.
    """
    by_interval: dict[float, list[str]] = {}
    for src in config.sources:
        by_interval.setdefault(src.settings.interval, []).append(src.name)
    if len(by_interval) == 1:
        ((interval, _),) = by_interval.items()
        return [("monitor", interval, None)]
    default = config.defaults.interval
    return [
        ("monitor" if every == default else f"monitor-every-{format_duration(every)}", every, names)
        for every, names in sorted(by_interval.items())
    ]


def _serve_deployments(
    config_path: str,
    groups: list[tuple[str, float, list[str] | None]],
    limit: int,
    out: IO[str],
) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    from flows.backfill import backfill
    from flows.digest import digest
    from flows.monitor import monitor

    one_at_a_time = ConcurrencyLimitConfig(
        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
    )
    monitors = [
        _deployment(
            monitor,
            {"config": config_path, "sources": sources},
            name=name,
            interval=timedelta(seconds=interval),
            concurrency_limit=one_at_a_time,
        )
        for name, interval, sources in groups
    ]
    deployments = [
        *monitors,
        _deployment(
            digest,
            {"config": config_path, "due_only": True},
            cron="0 * * * *",
            concurrency_limit=one_at_a_time,
        ),
        _deployment(backfill, {"config": config_path}),
    ]
    # What prefect.serve() does, with two steps between registering and serving.
    runner = Runner(limit=limit, pause_on_shutdown=False, query_seconds=RUNNER_POLL)
    ids = [_registered(runner.add_deployment(d)) for d in deployments]
    _say(out, end_stale_runs(ids, "ended on start by newswatch serve"))
    _say(out, start_now(ids[: len(monitors)]))
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        print("stopping…", file=out, flush=True)
    finally:
        # Runs this process had in flight die with it: end them now, so none blocks the next.
        with contextlib.suppress(Exception):
            _say(out, end_stale_runs(ids, "ended by newswatch serve as it stopped"))


def _registered(made: object) -> UUID:
    if not isinstance(made, UUID):  # add_deployment may also hand back a coroutine
        raise TypeError(f"unexpected deployment id {made!r}")
    return made


def _say(out: IO[str], lines: list[str]) -> None:
    for line in lines:
        print(line, file=out, flush=True)


def end_stale_runs(deployment_ids: list[UUID], why: str) -> list[str]:
    """End the runs of our deployments that a stopped or killed `serve` left behind.

    Pending (also "Submitting"), Running and Cancelling runs become Crashed, which frees the
    deployment's concurrency slot; scheduled runs whose time passed while nothing served them
    become Cancelled (the next scheduled run does their work). Forced through the API: a dead
    process never reports back. Manually created runs still scheduled (a backfill asked for
    while serve was down) are left to run.
    """
    from prefect import State
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled, Crashed

    in_flight = {StateType.PENDING, StateType.RUNNING, StateType.CANCELLING}

    def ours(run: Any) -> bool:  # scheduled by the deployment's schedule, or by start_now
        return bool(run.auto_scheduled or ON_START in (run.tags or []))

    wanted = FlowRunFilterStateType(any_=[*in_flight, StateType.SCHEDULED])
    late = datetime.now(UTC) - LATE_GRACE
    done = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=deployment_ids)),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=wanted)),
            limit=200,
        )
        for run in runs:
            if run.state is None:
                continue
            new: State[Any]
            if run.state.type in in_flight:
                new = Crashed(message=f"{why}: this run was {run.state.name} when serve stopped")
            elif ours(run) and run.expected_start_time and run.expected_start_time < late:
                new = Cancelled(message=f"{why}: missed while nothing served it")
            else:
                continue
            client.set_flow_run_state(run.id, new, force=True)
            done.append(f"{why}: {run.name} ({run.state.name} → {new.name})")
    return done


def start_now(deployment_ids: list[UUID]) -> list[str]:
    """A monitor run now, instead of one interval after start (the first may be a baseline)."""
    from prefect.client.orchestration import get_client

    lines = []
    with get_client(sync_client=True) as client:
        for deployment_id in deployment_ids:
            run = client.create_flow_run_from_deployment(deployment_id, tags=[ON_START])
            lines.append(f"first monitor run {run.name} started now")
    return lines


def _deployment(
    flow: Any, parameters: dict[str, Any], name: str | None = None, **options: Any
) -> RunnerDeployment:
    """A deployment (named like its flow unless told) whose runs import `flows.*` from any cwd."""
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    made = flow.to_deployment(
        name=name or flow.name,
        parameters=parameters,
        entrypoint_type=EntrypointType.MODULE_PATH,
        version=__version__,
        tags=["newswatch", flow.name],
        **options,
    )
    if not isinstance(made, RunnerDeployment):  # to_deployment may also hand back a coroutine
        raise TypeError(f"unexpected deployment object {made!r}")
    return made
