"""SPEC 9 under a real Prefect server: run states tell the truth, the core's warnings are in the
run's logs, and each development is a Prefect event."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from newswatch.demo.site import NewsDaySite

if TYPE_CHECKING:
    from tests.flows.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo.yaml"


def _config(
    folder: Path, site: NewsDaySite, name: str, broken: int = 0, only_broken: bool = False
) -> str:
    data = yaml.safe_load(
        DEMO.read_text().replace("${NEWSWATCH_DEMO_SITE:-http://127.0.0.1:8765}", site.base_url)
    )
    data["store"] = f"sqlite:///{name}.db"  # relative: next to the config file
    data["defaults"]["per_host_delay"] = 0
    data["channels"] = []
    bad = [
        {"name": f"broken-{n}", "feed": f"{site.base_url}/no/such/feed-{n}.rss"}
        for n in range(broken)
    ]
    data["sources"] = bad if only_broken else bad + data["sources"]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _run(stack: Stack, config: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "newswatch.cli", "run", "-c", config],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    runs = stack.api("POST", "/flow_runs/filter", {"sort": "START_TIME_DESC"})
    mine = [r for r in runs if r.get("parameters", {}).get("config") == config]
    assert mine, done.stdout[-2000:] + done.stderr[-2000:]
    return done, mine[0]


def _logs(stack: Stack, run_id: str) -> str:
    logs = stack.api("POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}})
    return "\n".join(str(line["message"]) for line in logs)


@pytest.mark.prefect_server
def test_run_states_name_what_failed_and_core_warnings_reach_the_run_logs(
    prefect_server: Stack, tmp_path: Path
) -> None:
    with NewsDaySite() as site:
        done, run = _run(prefect_server, _config(tmp_path, site, "some-failing", broken=1))
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert run["state_type"] == "COMPLETED", run["state"]
        assert run["state"]["name"] == "Completed with failures", run["state"]
        assert "1 of 5 source(s) failed: broken-0" in run["state"]["message"], run["state"]
        # The core's own warning (newswatch.pipeline), not only the flow's summary.
        logs = _logs(prefect_server, run["id"])
        assert "newswatch.pipeline: source broken-0 failed" in logs, logs[-3000:]

        done, run = _run(prefect_server, _config(tmp_path, site, "all-failing", 2, True))
        assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
        assert run["state_type"] == "FAILED", run["state"]
        assert "every source failed: broken-0" in run["state"]["message"], run["state"]
        assert "every source failed" in done.stderr

        done, run = _run(prefect_server, _config(tmp_path, site, "all-good"))
        assert done.returncode == 0, done.stderr[-2000:]
        assert (run["state_type"], run["state"]["name"]) == ("COMPLETED", "Completed")


@pytest.mark.prefect_server
def test_each_development_is_a_prefect_event(prefect_server: Stack, tmp_path: Path) -> None:
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    with NewsDaySite() as site:
        config = _config(tmp_path, site, "events")
        site.set_step(0)
        assert _run(prefect_server, config)[0].returncode == 0  # the baseline: no events
        site.set_step(1)
        done, run = _run(prefect_server, config)
        assert done.returncode == 0, done.stderr[-2000:]
        ours = site.base_url  # other tests share the server: keep to this site's events
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120  # events are ingested asynchronously by the server
    while time.monotonic() < deadline and not found:
        page = prefect_server.api(
            "POST",
            "/events/filter",
            {
                "filter": {
                    "occurred": {"since": since},
                    "event": {"prefix": ["newswatch.development."]},
                },
                "limit": 50,
            },
        )
        found = [e for e in page["events"] if str(e["payload"].get("url", "")).startswith(ours)]
        if not found:
            time.sleep(1)
    names = {e["event"] for e in found}
    assert "newswatch.development.new_story" in names, names
    story = next(e for e in found if e["event"] == "newswatch.development.new_story")
    assert story["resource"]["prefect.resource.id"] == "newswatch.topic.talks", story
    roles = {r["prefect.resource.role"]: r["prefect.resource.id"] for r in story["related"]}
    assert roles["source"].startswith("newswatch.source."), roles
    assert roles["story"].startswith("newswatch.story."), roles
    assert run["state"]["name"] == "Completed", run["state"]


def test_the_pull_step_finds_the_checkout_without_newswatch_dir(tmp_path: Path) -> None:
    """prefect.yaml works without NEWSWATCH_DIR; a missing checkout is one clear line."""
    code = (
        "import os, sys\n"
        "from flows.project import enter_project, ProjectNotFound\n"
        "print(enter_project('{{ $NEWSWATCH_DIR }}')['directory'])\n"
        "print(os.getcwd())\n"
        "try:\n"
        f"    enter_project({str(tmp_path / 'gone')!r})\n"
        "except ProjectNotFound as exc:\n"
        "    print('ERR', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    chosen, cwd, err = done.stdout.splitlines()
    assert chosen == cwd == str(ROOT)
    assert err.startswith("ERR newswatch checkout not found at ") and "NEWSWATCH_DIR" in err


@pytest.mark.prefect_server
def test_a_monitor_run_ends_a_run_left_running_by_a_dead_worker(
    worker: Stack, site_config: Callable[[str], str]
) -> None:
    """prefect.yaml path: a run whose worker died stays Running; the next monitor run that gets
    the deployment's one slot ends it (Crashed), so the runs list stops showing a ghost."""
    from tests.flows.conftest import finish, start_run

    deployment = worker.api("GET", "/deployments/name/monitor/monitor")
    ghost = worker.api(
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        {"parameters": {"config": site_config("ghost")}, "state": {"type": "PENDING"}},
    )
    worker.api(
        "POST",
        f"/flow_runs/{ghost['id']}/set_state",
        {"state": {"type": "RUNNING", "name": "Running"}, "force": True},
    )
    config = site_config("after-ghost")
    done = finish(
        worker,
        "after-ghost",
        start_run(worker, "after-ghost", "monitor/monitor", {"config": config}),
        config,
    )
    assert done.returncode == 0, done.output[-3000:] + worker.log("worker")[-3000:]
    state = worker.api("GET", f"/flow_runs/{ghost['id']}")["state"]
    assert state["type"] == "CRASHED" and "process is gone" in state["message"], state
