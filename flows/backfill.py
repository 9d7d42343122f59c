"""The `backfill` flow: items published in a window, a task per source, then one delivery task."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from prefect import flow

from flows.common import (
    DEFAULT_CONFIG,
    delivery_task,
    open_runtime,
    publish,
    run_sources,
    runtime,
)
from newswatch.cli import UsageError, parse_window
from newswatch.deliver import ChannelResult
from newswatch.models import NotifyMode
from newswatch.pipeline import Pass, backfill_pass, begin_run, deliver_backfill, finish_run, utcnow
from newswatch.report import RunReport

Notify = Literal["digest", "none", "instant"]


def backfill_window(since: str, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """Parse and check the window exactly as `newswatch backfill` does."""
    return parse_window(since, until, now)


def check_notify(notify: str) -> NotifyMode:
    if notify not in get_args(Notify):
        raise UsageError(f"backfill: notify must be one of digest, none, instant, not {notify!r}")
    return notify  # type: ignore[return-value]


@delivery_task
def deliver_task(rt_key: str, how: Pass, notify: NotifyMode) -> list[ChannelResult]:
    """One digest per channel of what the backfill found, instant alerts, or nothing."""
    return deliver_backfill(runtime(rt_key), how, notify)


@flow(name="backfill")
def backfill(
    since: str,
    until: str | None = None,
    sources: list[str] | None = None,
    notify: Notify = "digest",
    config: str = DEFAULT_CONFIG,
) -> RunReport:
    """Process items published between `since` and `until` through the monitor's detection.

    Args:
        since: ISO 8601 date or datetime (UTC when no offset), or an age like 7d or 12h.
        until: same forms; a bare date means the end of that day; empty means now.
        sources: only these sources (names from the config); all when empty.
        notify: digest (one digest per channel), none, or instant.
        config: path of the newswatch YAML config (relative to the working directory).
    """
    start, end = backfill_window(since, until, utcnow())
    mode = check_notify(notify)
    how = backfill_pass(start, end, mode)
    with open_runtime(config) as (key, rt):
        selected = rt.selected(sources)
        run_id, report = begin_run(rt, "backfill", f"{start.isoformat()} → {end.isoformat()}")
        # One source after another, as run_backfill does: which outlet first carried a story
        # (so which report holds the development) must not depend on thread timing.
        report.sources = run_sources(key, selected, run_id, how, parallel=False)
        report.deliveries = deliver_task(key, how, mode)
        finish_run(rt, run_id, report)
    publish(report)
    return report
