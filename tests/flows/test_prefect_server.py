"""The Prefect layer for real: prefect.yaml deployed to a local server, runs through a worker.

Also a fast guard that the core (newswatch, parsers) never imports prefect.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from newswatch.demo import WebhookReceiver

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


def _artifact(stack: Stack, run: FlowRun, key: str, kind: str) -> Any:
    """The data of the run's one artifact under `key`, which must be of type `kind`."""
    assert run.run_id, run.output
    found = [a for a in _artifacts(stack, run.run_id) if a["key"] == key]
    assert len(found) == 1, found
    assert found[0]["type"] == kind
    return found[0]["data"]


def _report(stack: Stack, run: FlowRun, key: str) -> str:
    return str(_artifact(stack, run, key, "markdown"))


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


def _table(stack: Stack, run: FlowRun, key: str) -> list[dict[str, Any]]:
    data = _artifact(stack, run, key, "table")
    rows: list[dict[str, Any]] = json.loads(data) if isinstance(data, str) else data
    return rows


@pytest.mark.prefect_server
def test_a_run_leaves_a_table_of_its_developments(
    worker: Stack, flow_runs: dict[str, FlowRun]
) -> None:
    run = flow_runs["window"]
    assert run.returncode == 0, _failure(run, worker)
    rows = _table(worker, run, "newswatch-backfill-developments")
    assert rows and all(r["url"].startswith("http") and r["topic"] and r["kind"] for r in rows)
    assert {"detected", "title", "outlets", "terms", "similarity", "fingerprint"} <= set(rows[0])
    assert _table(worker, flow_runs["monitor"], "newswatch-monitor-developments") == []


SAVE_SECRET = "import sys; from prefect.blocks.system import Secret; " + (
    "Secret(value=sys.argv[2]).save(sys.argv[1], overwrite=True)"
)


def _with_channel(config: str, url: str) -> str:
    data = yaml.safe_load(Path(config).read_text())
    data["channels"] = [{"name": "desk", "url": url, "topics": [t["name"] for t in data["topics"]]}]
    Path(config).write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def _newswatch(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.prefect_server
def test_a_channel_url_takes_its_secret_from_a_prefect_secret_block(
    prefect_server: Stack, site_config: Callable[[str], str]
) -> None:
    secret_path = "hook-3f9c2e-s3cret"
    with WebhookReceiver() as hook:
        saved = subprocess.run(
            [sys.executable, "-c", SAVE_SECRET, "newswatch-test-hook", hook.url + secret_path],
            env=prefect_server.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert saved.returncode == 0, saved.stderr
        config = _with_channel(site_config("secret"), "${prefect:secret/newswatch-test-hook}")
        since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        done = _newswatch(
            prefect_server, "backfill", "--since", since, "--notify", "instant", "-c", config
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert hook.messages and {m["path"] for m in hook.messages} == {"/" + secret_path}
        assert secret_path not in done.stdout + done.stderr

    unknown = _with_channel(site_config("no-secret"), "json://h/${prefect:secret/no-such-block}")
    for command in (["check"], ["run"]):
        done = _newswatch(prefect_server, *command, "-c", unknown)
        assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
        assert "channels[0].url" in done.stderr and "'no-such-block'" in done.stderr
        assert "no Secret block of that name" in done.stderr
