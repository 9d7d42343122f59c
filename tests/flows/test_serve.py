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
