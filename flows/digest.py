"""The `digest` flow: sends what digest channels collected, as one delivery task."""

from __future__ import annotations

from prefect import State

from flows.common import core_logs, end_ghost_runs, open_runtime, prefect_steps, publish
from flows.lean import lean_flow
from newswatch.config import DEFAULT_CONFIG
from newswatch.pipeline import run_digest
from newswatch.report import RunReport


@lean_flow(name="digest")
def digest(
    config: str = DEFAULT_CONFIG, channel: str | None = None, due_only: bool = False
) -> State[RunReport]:
    """Send one digest per digest channel of what it collected; empty digests are not sent.

    Args:
        config: path of the newswatch YAML config (relative to the working directory).
        channel: only this digest channel (a name from the config); all when empty.
        due_only: only channels whose digest schedule time has come (what the hourly run uses).
    """
    end_ghost_runs()
    with core_logs(), open_runtime(config) as (key, rt):
        report = run_digest(rt, channel, due_only, prefect_steps(key))
    return publish(report)
