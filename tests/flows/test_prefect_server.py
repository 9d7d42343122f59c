"""The Prefect layer for real: prefect.yaml deployed to a local server, runs through a worker.

Also a fast guard that the core (newswatch, parsers) never imports prefect.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.flows.conftest import FlowRun, Stack

ROOT = Path(__file__).resolve().parents[2]

# Alembic's env.py only runs inside a migration; everything else must import on its own.
CORE_IMPORT_CHECK = """
import importlib, pkgutil, sys
import newswatch, parsers
names = []
for pkg in (newswatch, parsers):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if ".migrations" not in info.name:
            names.append(info.name)
            importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
assert not leaked, f"importing the core pulled in prefect: {leaked[:5]}"
assert "newswatch.pipeline" in names and "parsers.articles" in names, names
print(len(names))
"""


def test_the_core_never_imports_prefect() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CORE_IMPORT_CHECK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(done.stdout.strip()) >= 10  # the walk found the modules, not an empty package


def _artifacts(stack: Stack, run_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = stack.api(
        "POST", "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    )
    return found


def _report(stack: Stack, run: FlowRun, key: str) -> str:
    assert run.run_id, run.output
    reports = [a for a in _artifacts(stack, run.run_id) if a["key"] == key]
    assert len(reports) == 1, reports
    assert reports[0]["type"] == "markdown"
    return str(reports[0]["data"])


def _failure(run: FlowRun, stack: Stack) -> str:
    return run.output[-4000:] + "\n--- worker ---\n" + stack.log("worker")[-4000:]


@pytest.mark.prefect_server
def test_monitor_runs_through_the_worker_and_leaves_its_report(
    worker: Stack, flow_runs: dict[str, FlowRun]
) -> None:
    run = flow_runs["monitor"]
    assert run.returncode == 0, _failure(run, worker)
    assert "Completed" in run.output
    report = _report(worker, run, "newswatch-monitor")
    # The first cycle over the demo site: all four sources fetched, a baseline, so no alerts.
    assert "monitor: 4 source(s), 0 failed; 0 development(s)" in report, report


@pytest.mark.prefect_server
@pytest.mark.parametrize(
    ("case", "completes", "expected"),
    [
        ("window", True, re.compile(r"backfill: 4 source\(s\), 0 failed; [1-9]\d* development")),
        ("reversed", False, re.compile(r"since '\d{4}-\d\d-\d\d' is after until")),
    ],
    ids=["window", "reversed"],
)
def test_backfill_takes_its_parameters_and_fails_fast_on_a_bad_window(
    worker: Stack,
    flow_runs: dict[str, FlowRun],
    case: str,
    completes: bool,
    expected: re.Pattern[str],
) -> None:
    run = flow_runs[case]
    assert run.run_id, run.output
    state = worker.api("GET", f"/flow_runs/{run.run_id}")["state"]
    if completes:
        assert run.returncode == 0, _failure(run, worker)
        assert state["type"] == "COMPLETED", state
        assert expected.search(_report(worker, run, "newswatch-backfill"))
    else:
        assert run.returncode == 1, _failure(run, worker)
        assert state["type"] == "FAILED", state
        assert expected.search(state["message"]), state


@pytest.mark.prefect_server
def test_a_monitor_run_starting_long_after_its_time_only_says_so(
    worker: Stack, flow_runs: dict[str, FlowRun]
) -> None:
    run = flow_runs["late"]
    assert run.returncode == 0, _failure(run, worker)
    report = _report(worker, run, "newswatch-monitor")
    assert re.search(r"skipped: this run started 4\d min after its scheduled time", report), report
    # It did nothing: the store it was given was never even created.
    assert not Path(run.config).with_suffix(".db").exists()


@pytest.mark.prefect_server
def test_cli_run_with_an_api_url_is_a_visible_flow_run(
    prefect_server: Stack, site_config: Callable[[str], str]
) -> None:
    """SPEC 7: with PREFECT_API_URL set, `newswatch run` runs as a flow run of `monitor`."""
    config = site_config("cli-run")
    done = subprocess.run(
        [sys.executable, "-m", "newswatch.cli", "run", "-c", config],
        cwd=ROOT,
        env=prefect_server.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "monitor: 4 source(s), 0 failed" in done.stdout
    runs = prefect_server.api("POST", "/flow_runs/filter", {"sort": "START_TIME_DESC"})
    mine = [r for r in runs if r.get("parameters", {}).get("config") == config]
    assert mine and mine[0]["state_type"] == "COMPLETED", [
        (r["name"], r["state_type"], r.get("parameters")) for r in runs
    ]


@pytest.mark.prefect_server
def test_digest_of_an_instant_channel_is_the_same_usage_error_in_process_and_as_a_flow(
    prefect_server: Stack, site_config: Callable[[str], str]
) -> None:
    """One sequencer: `digest --channel <instant channel>` is refused by the pipeline itself, so
    the CLI in-process and the `digest` flow run give the same message and exit 2."""
    config = site_config("digest-instant")
    data = yaml.safe_load(Path(config).read_text())
    data["channels"] = [{"name": "desk-chat", "url": "json://127.0.0.1:9/", "topics": ["talks"]}]
    Path(config).write_text(yaml.safe_dump(data, sort_keys=False))
    outcomes = []
    for env in (_without_api(prefect_server.env), prefect_server.env):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "newswatch.cli",
                "digest",
                "--channel",
                "desk-chat",
                "-c",
                config,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        message = [line for line in done.stderr.splitlines() if line.startswith("newswatch: ")]
        outcomes.append((done.returncode, message[-1:] if message else done.stderr[-2000:]))
    in_process, as_flow = outcomes
    assert in_process[0] == 2 and "desk-chat: an instant channel" in in_process[1][0], in_process
    assert as_flow == in_process
    runs = prefect_server.api("POST", "/flow_runs/filter", {"sort": "START_TIME_DESC"})
    mine = [r for r in runs if r.get("parameters", {}).get("config") == config]
    assert mine and mine[0]["state_type"] == "FAILED", [(r["name"], r["state_type"]) for r in runs]


def _without_api(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
