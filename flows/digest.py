"""The `digest` flow: sends what digest channels collected, as one delivery task."""

from __future__ import annotations

from prefect import flow

from flows.common import (
    DEFAULT_CONFIG,
    delivery_task,
    open_runtime,
    publish,
    runtime,
)
from newswatch.deliver import ChannelResult, deliver_digests
from newswatch.errors import NewswatchError
from newswatch.pipeline import begin_run, finish_run, utcnow
from newswatch.report import RunReport


@delivery_task
def deliver_task(rt_key: str, channels: list[str], due_only: bool) -> list[ChannelResult]:
    rt = runtime(rt_key)
    chans = [c for c in rt.config.channels if c.name in channels]
    return deliver_digests(rt.store, chans, utcnow(), mode="digest", due_only=due_only)


@flow(name="digest")
def digest(
    config: str = DEFAULT_CONFIG, channel: str | None = None, due_only: bool = False
) -> RunReport:
    """Send one digest per digest channel of what it collected; empty digests are not sent.

    Args:
        config: path of the newswatch YAML config (relative to the working directory).
        channel: only this channel (a name from the config); all when empty.
        due_only: only channels whose digest schedule time has come (what the hourly run uses).
    """
    with open_runtime(config) as (key, rt):
        names = [c.name for c in rt.config.channels if channel in (None, "", c.name)]
        if channel and not names:
            raise NewswatchError(f"unknown channel: {channel}")
        run_id, report = begin_run(rt, "digest")
        report.deliveries = deliver_task(key, names, due_only)
        finish_run(rt, run_id, report)
    publish(report)
    return report
