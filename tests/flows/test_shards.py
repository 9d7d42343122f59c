"""Shards through Prefect: prefect.yaml's two shard deployments, two process workers, one store.

The shard deployments are moved to a pool of their own served by two workers that take one run
each at a time, so two shard runs started together run side by side on different workers.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch.demo.receivers import WebhookReceiver
from tests.feedfarm import FeedFarm
from tests.flows.conftest import FlowRun, Stack, finish, start_run, stop
from tests.pgserver import fresh_database
from tests.test_scale import farm_config, feeds_fetched, too_close

POOL = "newswatch-scale"
SHARDS = ("monitor/shard-1-of-2", "monitor/shard-2-of-2")
DELAY = 0.05


@pytest.fixture(scope="module")
def two_workers(worker: Stack) -> Iterator[Stack]:
    made = worker.cli("work-pool", "create", POOL, "--type", "process", "--overwrite")
    assert made.returncode == 0, made.stdout + made.stderr
    for name in SHARDS:  # one at a time: `prefect deploy` ignores --pool for several at once
        deployed = worker.cli("deploy", "--name", name, "--pool", POOL)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        found = worker.api("GET", f"/deployments/name/{name}")
        assert found["work_pool_name"] == POOL, found
    procs = [
        worker.start(f"scale-worker-{i}", "worker", "start", "--pool", POOL, "--limit", "1")
        for i in (1, 2)
    ]
    try:
        yield worker
    finally:
        for proc in procs:
            stop(proc, signal.SIGTERM, signal.SIGINT)


def both_shards(stack: Stack, config: Path, cycle: str) -> list[FlowRun]:
    started = {
        d: start_run(stack, f"{cycle}-{d.rsplit('/', 1)[1]}", d, {"config": str(config)})
        for d in SHARDS
    }
    try:
        return [
            finish(stack, f"{cycle}-{d.rsplit('/', 1)[1]}", proc, str(config))
            for d, proc in started.items()
        ]
    finally:
        for proc in started.values():
            stop(proc, signal.SIGTERM)


def _state(stack: Stack, run: FlowRun) -> str:
    assert run.run_id, run.output
    return str(stack.api("GET", f"/flow_runs/{run.run_id}")["state"]["type"])


@pytest.mark.prefect_server
@pytest.mark.timeout(900)  # a server, three workers and four flow runs on a shared 2-core box
def test_two_shard_runs_at_once_on_two_workers_fetch_once_alert_once_and_keep_gaps(
    two_workers: Stack, postgres_url: str, tmp_path: Path
) -> None:
    stack = two_workers
    with FeedFarm(12, 4, initial=2, per_step=1) as farm, WebhookReceiver() as hook:
        config = farm_config(tmp_path, farm, fresh_database(postgres_url), hook.url, DELAY)
        for cycle in ("baseline", "next"):
            runs = both_shards(stack, config, cycle)
            for run in runs:
                assert run.returncode == 0, run.output[-3000:]
                assert _state(stack, run) == "COMPLETED", run.output[-3000:]
            log = farm.log()
            fetched = feeds_fetched(log)
            assert len(fetched) == 12 and set(fetched.values()) == {1}, fetched
            # The shards share hosts: the gap holds across the two workers' processes.
            assert too_close(log, DELAY, {}) == []
            farm.clear()
            farm.advance()
        assert hook.wait_for(12)
        time.sleep(0.5)
        titles = Counter(m["title"] for m in hook.messages)
        assert len(titles) == 12 and set(titles.values()) == {1}, titles
        # Each worker (one run at a time) took runs: the shards ran side by side on both.
        for i in (1, 2):
            log = stack.log(f"scale-worker-{i}")
            assert "submitting flow run" in log, log[-3000:]
