"""The `backfill` flow: items published in a window, a task for the sources, one for delivery."""

from __future__ import annotations

from typing import Literal

from prefect import State

from flows.common import core_logs, open_runtime, prefect_steps, publish
from flows.lean import lean_flow
from newswatch.config import DEFAULT_CONFIG
from newswatch.pipeline import plan_backfill, run_backfill
from newswatch.report import RunReport

Notify = Literal["digest", "none", "instant"]


@lean_flow(name="backfill")
def backfill(
    since: str,
    until: str | None = None,
    sources: list[str] | None = None,
    notify: Notify = "digest",
    config: str = DEFAULT_CONFIG,
) -> State[RunReport]:
    """Process items published between `since` and `until` through the monitor's detection.

    Args:
        since: ISO 8601 date or datetime (UTC when no offset), or an age like 7d or 12h.
        until: same forms; a bare date means the end of that day; empty means now.
        sources: only these sources (names from the config); all when empty.
        notify: digest (one digest per channel), none, or instant.
        config: path of the newswatch YAML config (relative to the working directory).
    """
    with core_logs(), open_runtime(config) as (key, rt):
        plan = plan_backfill(rt.config, since, until, sources, notify)
        report = run_backfill(rt, plan, prefect_steps(key))
    return publish(report)
