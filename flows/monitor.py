"""The `monitor` flow: one monitoring cycle, a task for the sources and one for delivery."""

from __future__ import annotations

from prefect import State

from flows.common import (
    core_logs,
    end_ghost_runs,
    open_runtime,
    prefect_steps,
    publish,
    publish_skip,
    stale_message,
)
from flows.lean import lean_flow
from newswatch.config import DEFAULT_CONFIG
from newswatch.pipeline import run_cycle
from newswatch.report import RunReport


@lean_flow(name="monitor")
def monitor(
    config: str = DEFAULT_CONFIG,
    sources: list[str] | None = None,
    max_late_minutes: int = 20,
    shard: str | None = None,
) -> State[RunReport] | None:
    """Fetch every source, record and alert on new developments; the same cycle as `newswatch run`.

    Args:
        config: path of the newswatch YAML config (relative to the working directory).
        sources: only these sources (names from the config); all when empty.
        max_late_minutes: a run starting this long after its scheduled time only says so and
            returns, so missed runs are not replayed after downtime; 0 turns the check off.
        shard: "I/N": only the sources whose name hashes to shard I of N (1 <= I <= N), the
            same on every machine; with `sources`, those of them in the shard.
    """
    skip = stale_message(max_late_minutes)
    if skip:
        publish_skip("monitor", skip)
        return None
    end_ghost_runs()
    with core_logs(), open_runtime(config) as (key, rt):
        report = run_cycle(rt, sources, prefect_steps(key), shard)
    return publish(report)
