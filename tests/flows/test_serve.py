"""`newswatch serve` for real: its own Prefect server, the deployments served, a clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from newswatch.demo.site import NewsDaySite

ROOT = Path(__file__).resolve().parents[2]


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _wait_for(lines: queue.Queue[str], needle: str, timeout: float, seen: list[str]) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not printed in {timeout} s:\n{''.join(seen)}")


def _deployments(api: str) -> dict[str, dict[str, object]]:
    req = urllib.request.Request(
        f"{api}/deployments/filter", data=b"{}", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return {d["name"]: d for d in json.load(resp)}


def _version() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "newswatch", "--version"], capture_output=True, text=True, check=True
    )
    return done.stdout.split()[-1]


@pytest.mark.prefect_server
def test_serve_runs_its_own_server_and_stops_on_sigterm(tmp_path: Path) -> None:
    with NewsDaySite() as site:
        text = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
        cfg = tmp_path / "serve.yaml"
        text = text.replace("sqlite:///../state/demo/newswatch.db", "sqlite:///store.db")
        cfg.write_text(text.replace("${NEWSWATCH_DEMO_SITE:-http://127.0.0.1:8765}", site.base_url))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
        proc = subprocess.Popen(
            [sys.executable, "-m", "newswatch.cli", "serve", "-c", str(cfg), "--limit", "1"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        seen: list[str] = []
        try:
            lines = _lines(proc)
            ui = _wait_for(lines, "Prefect UI:", 240, seen).split("Prefect UI:", 1)[1].strip()
            api = ui.rstrip("/") + "/api"
            deadline = time.monotonic() + 120
            served: dict[str, dict[str, object]] = {}
            while time.monotonic() < deadline and not {"monitor", "digest", "backfill"} <= {
                *served
            }:
                with contextlib.suppress(OSError):
                    served = _deployments(api)
                time.sleep(1)
            assert {"monitor", "digest", "backfill"} <= {*served}, served
            for name, deployment in served.items():  # the project's version, and its tags
                assert deployment["version"] == _version(), deployment
                assert set(deployment["tags"]) == {"newswatch", name}, deployment
            assert (tmp_path / "state" / "prefect").is_dir()  # the server's SQLite lives there
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        while not lines.empty():
            seen.append(lines.get())
        assert proc.returncode == 0, "".join(seen)
        assert "Prefect server stopped" in "".join(seen)
        with pytest.raises(OSError):
            _deployments(api)  # nothing is left listening


def _runs(api: str, deployment: str = "monitor") -> list[dict[str, object]]:
    body = json.dumps(
        {"deployments": {"name": {"any_": [deployment]}}, "sort": "EXPECTED_START_TIME_ASC"}
    ).encode()
    req = urllib.request.Request(
        f"{api}/flow_runs/filter", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        runs: list[dict[str, object]] = json.load(resp)
    return runs


def _state(run: dict[str, object]) -> tuple[str, str]:
    state = run["state"]
    assert isinstance(state, dict)
    return str(state["type"]), str(state["name"])


def _serve(cfg: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "newswatch.cli", "serve", "-c", str(cfg), "--limit", "1"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_as_from_a_terminal,
    )


def _as_from_a_terminal() -> None:
    """Ctrl-C reaches serve as it does from a terminal. A test run started in the background of
    a non-interactive shell (as CI may be) inherits SIGINT ignored, and an ignored signal stays
    ignored across exec, so Python would never turn it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _until(what: str, check: object, timeout: float) -> object:
    """Poll `check()` until it returns something true; its value, or fail naming `what`."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            value = check()
            if value:
                return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s (last: {value!r})")


@pytest.mark.prefect_server
def test_serve_runs_at_once_and_a_sigint_mid_run_never_blocks_the_next_serve(
    tmp_path: Path,
) -> None:
    """SPEC 9: the first monitor cycle runs at once; Ctrl-C while a run is in flight, restart:
    the run left behind is ended (not holding the one-at-a-time slot) and a new run completes."""
    with NewsDaySite() as site:
        text = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
        text = text.replace("${NEWSWATCH_DEMO_SITE:-http://127.0.0.1:8765}", site.base_url)
        text = text.replace("sqlite:///../state/demo/newswatch.db", "sqlite:///store.db")
        cfg = tmp_path / "serve.yaml"
        cfg.write_text(text.split("\nchannels:")[0] + "\nchannels: []\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
        seen: list[str] = []

        # 1. Start, and interrupt as soon as the first monitor run is in flight.
        first = _serve(cfg, tmp_path, env)
        try:
            lines = _lines(first)
            ui = _wait_for(lines, "Prefect UI:", 240, seen).split("Prefect UI:", 1)[1].strip()
            api = ui.rstrip("/") + "/api"
            started = time.monotonic()
            _wait_for(lines, "first monitor run", 120, seen)
            in_flight = _until(
                "a monitor run pending or running",
                lambda: [r for r in _runs(api) if _state(r)[0] in ("PENDING", "RUNNING")],
                120,
            )
            assert isinstance(in_flight, list)
            left_behind = str(in_flight[0]["id"])
            print(f"serve start → first run in flight: {time.monotonic() - started:.1f} s")
        finally:
            stopping = time.monotonic()
            first.send_signal(signal.SIGINT)
            try:
                first.wait(timeout=90)
            except subprocess.TimeoutExpired:
                first.kill()  # a wedged serve: show what it printed before it stopped answering
                first.wait(timeout=30)
                while not lines.empty():
                    seen.append(lines.get())
                raise AssertionError(
                    "serve did not exit within 90 s of SIGINT; it printed:\n" + "".join(seen)
                ) from None
            print(f"SIGINT → serve exited: {time.monotonic() - stopping:.1f} s")
        while not lines.empty():
            seen.append(lines.get())
        assert first.returncode == 0, "".join(seen)

        # 2. Restart on the same Prefect database: the left-behind run is ended, a new one runs.
        second = _serve(cfg, tmp_path, env)
        try:
            lines = _lines(second)
            ui = _wait_for(lines, "Prefect UI:", 240, seen).split("Prefect UI:", 1)[1].strip()
            api = ui.rstrip("/") + "/api"
            started = time.monotonic()
            done = _until(
                "a monitor run completed after the restart",
                lambda: [
                    r
                    for r in _runs(api)
                    if _state(r)[0] == "COMPLETED" and str(r["id"]) != left_behind
                ],
                240,
            )
            print(f"serve start → first completed run: {time.monotonic() - started:.1f} s")
            assert isinstance(done, list)
            states = {str(r["id"]): _state(r) for r in _runs(api)}
            assert states[left_behind][0] in ("CRASHED", "COMPLETED", "CANCELLED"), states
            # Nothing was refused for the concurrency slot the left-behind run held.
            assert not [s for s in states.values() if s[0] in ("PENDING", "RUNNING")][1:], states
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=90)
        while not lines.empty():
            seen.append(lines.get())
        assert second.returncode == 0, "".join(seen)
        assert (tmp_path / "store.db").exists()  # relative to the config file's folder
