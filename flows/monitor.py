"""The `monitor` flow: one monitoring cycle, a task per source and one for delivery."""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.common import (
    DEFAULT_CONFIG,
    SOURCE_WORKERS,
    delivery_task,
    open_runtime,
    publish,
    publish_skip,
    run_sources,
    runtime,
    stale_message,
)
from newswatch.deliver import ChannelResult
from newswatch.pipeline import Pass, begin_run, deliver_cycle, finish_run
from newswatch.report import RunReport


@delivery_task
def deliver_task(rt_key: str) -> list[ChannelResult]:
    """Send instant alerts and retry refused backfill digests (digest channels keep collecting)."""
    rt = runtime(rt_key)
    return deliver_cycle(rt)


@flow(
    name="monitor",
    # prefect 3.9 types TaskRunner's future parameter invariantly, so its own usage fails mypy
    task_runner=ThreadPoolTaskRunner(max_workers=SOURCE_WORKERS),  # type: ignore[arg-type]
)
def monitor(
    config: str = DEFAULT_CONFIG,
    sources: list[str] | None = None,
    max_late_minutes: int = 20,
) -> RunReport | None:
    """Fetch every source, record and alert on new developments; the same cycle as `newswatch run`.

    Args:
        config: path of the newswatch YAML config (relative to the working directory).
        sources: only these sources (names from the config); all when empty.
        max_late_minutes: a run starting this long after its scheduled time only says so and
            returns, so missed runs are not replayed after downtime; 0 turns the check off.
    """
    skip = stale_message(max_late_minutes)
    if skip:
        publish_skip("monitor", skip)
        return None
    with open_runtime(config) as (key, rt):
        selected = rt.selected(sources)
        run_id, report = begin_run(rt, "monitor")
        report.sources = run_sources(key, selected, run_id, Pass())
        report.deliveries = deliver_task(key)
        finish_run(rt, run_id, report)
    publish(report)
    return report
