"""Shared parts of the Prefect adapters: the open-Runtime registry, the two tasks, the artifact."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import State, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.logging.handlers import APILogHandler
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from flows.secrets import prefect_secret
from newswatch.config import load_config
from newswatch.errors import NewswatchError, StoreError
from newswatch.export import flat_record
from newswatch.models import ChannelResult, Source
from newswatch.pipeline import OnSource, Pass, Runtime, Send, Steps, fan_out_in_threads
from newswatch.report import PARTIAL, RunReport, SourceReport

DELIVERY_RETRY_DELAYS: list[float] = [10.0, 30.0]  # a store hiccup passes in seconds
TABLE_LEFT_OUT = frozenset({"text"})  # whole paragraphs make a table unreadable in the UI

# Tasks receive a key into this registry instead of the Runtime itself: Prefect would otherwise
# walk (and could try to hash) the store, the fetcher and the whole config for every task run.
# The tasks run in threads of the flow-run process (ThreadPoolTaskRunner), so they share it.
_open: dict[str, Runtime] = {}


@contextmanager
def open_runtime(config_path: str) -> Iterator[tuple[str, Runtime]]:
    """Load the config, open store and fetcher, and register them under a key tasks can carry."""
    with Runtime.open(load_config(config_path, secrets=prefect_secret)) as rt:
        key = uuid.uuid4().hex
        _open[key] = rt
        try:
            yield key, rt
        finally:
            del _open[key]


def runtime(key: str) -> Runtime:
    """The Runtime a flow opened; tasks running outside that flow's process cannot have one."""
    try:
        return _open[key]
    except KeyError:
        raise NewswatchError(
            "no open newswatch runtime for this task: tasks must run in threads of the flow run "
            "that opened it (use ThreadPoolTaskRunner)"
        ) from None


# One task run for all the sources of a run, not one per source: a task run cost ~33 ms of the
# flow's CPU and ~50 ms of a SQLite server's here (benchmarks/prefect_cost.py), most of what a
# flow run added to an idle cycle besides importing Prefect. Each source's outcome is a line in
# this task's logs; failures are also in the flow's state, logs and artifact, as before.
# No retries here: the fetcher already retries transient HTTP errors with backoff, and a source
# that still fails is a value in the report, retried by the next cycle.
@task(name="sources", task_run_name="sources", cache_policy=NO_CACHE, persist_result=False)
def sources_task(rt_key: str, source_names: list[str], how: Pass) -> list[SourceReport]:
    """Each source's pass (fetch, parse, detect, record) in threads of this task, as in-process,
    each outcome a line of the task's logs."""
    rt = runtime(rt_key)
    logger = get_run_logger()

    def log_source(report: SourceReport) -> None:
        level = logging.INFO if report.ok else logging.WARNING
        logger.log(level, "%s (%.1f s)", report.line(), report.seconds)

    sources = [rt.config.source(name) for name in source_names]
    return fan_out_in_threads(rt, sources, how, log_source)


def retry_on_store_error(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry delivery only on a store hiccup (e.g. SQLite locked); outbox leases make it safe."""
    try:
        state.result()
    except StoreError:
        return True
    except Exception:
        return False
    return False


@task(
    name="deliver",
    task_run_name="deliver",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=len(DELIVERY_RETRY_DELAYS),
    retry_delay_seconds=DELIVERY_RETRY_DELAYS,
    retry_condition_fn=retry_on_store_error,
)
def deliver_task(send: Send) -> list[ChannelResult]:
    """The run's delivery (what the pipeline hands over): uncached, retried only on StoreError."""
    return send()


def prefect_steps(rt_key: str) -> Steps:
    """The pipeline's two replaceable steps as Prefect tasks: the sources, then delivery."""

    def fan_out(
        _rt: Runtime, sources: Sequence[Source], how: Pass, _on: OnSource | None
    ) -> list[SourceReport]:
        if not sources:
            return []
        value = sources_task.submit(rt_key, [s.name for s in sources], how).result(
            raise_on_failure=False
        )
        got = {r.source: r for r in value} if isinstance(value, list) else {}
        crash = None if isinstance(value, list) else value
        return [got.get(s.name) or _as_report(s, crash) for s in sources]

    return Steps(fan_out=fan_out, deliver=deliver_task)


def _as_report(source: Source, value: Any) -> SourceReport:
    """A source whose pass (or whole task) crashed becomes a failed source (the store's failure
    fails the run)."""
    if isinstance(value, SourceReport):
        return value
    report = SourceReport(source.name, source.kind)
    if isinstance(value, StoreError):
        report.store_failure(value)
    elif isinstance(value, Exception):
        report.fail(value)
    else:
        report.fail(RuntimeError(f"source task ended without a report: {value!r}"))
    return report


def publish(report: RunReport) -> State[RunReport]:
    """Leave the run's Markdown report as an artifact, emit an event per development, and end
    the flow run in a state that tells the truth at a glance (the flow returns it):

    - Failed: the store failed, or every source did (the message says which and why);
    - Completed, named "Completed with failures": some sources or channels failed (named);
    - Completed: everything worked.
    """
    logger = get_run_logger()
    logger.info(report.summary())
    if report.feeds_error:
        logger.warning("feeds not written (the store keeps everything): %s", report.feeds_error)
    create_markdown_artifact(
        markdown=report.to_markdown(),
        key=f"newswatch-{report.kind}",
        description=report.summary(),
    )
    create_table_artifact(
        table=developments_table(report),
        key=f"newswatch-{report.kind}-developments",
        description=f"{len(report.developments)} development(s) found by this {report.kind} run",
    )
    emit_developments(report)
    verdict = report.verdict()
    if verdict.level == "failed":
        logger.error(verdict.message)
        return Failed(message=verdict.message, data=report)
    if verdict.level == "partial":
        logger.warning(verdict.message)
        return Completed(name=PARTIAL, message=verdict.message, data=report)
    return Completed(message=verdict.message, data=report)


def emit_developments(report: RunReport) -> None:
    """One Prefect event per development, for automations: `newswatch.development.<kind>` about
    `newswatch.topic.<topic>`, related to its source and story."""
    for d in report.developments:
        emit_event(
            event=f"newswatch.development.{d.kind}",
            resource={"prefect.resource.id": f"newswatch.topic.{d.topic}", "topic": d.topic},
            related=[
                {
                    "prefect.resource.id": f"newswatch.source.{d.source}",
                    "prefect.resource.role": "source",
                    "prefect.resource.name": d.source,
                },
                {
                    "prefect.resource.id": f"newswatch.story.{d.fingerprint}",
                    "prefect.resource.role": "story",
                    "prefect.resource.name": d.title[:200],
                },
            ],
            payload={
                "title": d.title,
                "url": d.url,
                "terms": list(d.terms),
                "outlets": list(d.outlets),
                "text": list(d.text[:5]),
                "published": d.published.isoformat() if d.published else None,
            },
        )


class _ToRunLogger(logging.Handler):
    """Hands the core's log records to the flow run's logger, so they show in the run's logs."""

    def __init__(self, target: logging.LoggerAdapter[logging.Logger]) -> None:
        super().__init__(logging.INFO)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.target.log(record.levelno, "%s: %s", record.name, record.getMessage())
        except Exception:  # logging must never break a run
            self.handleError(record)


@contextmanager
def core_logs() -> Iterator[None]:
    """While a flow runs, newswatch's own warnings also go to the flow run's logs (in `serve`
    mode, with workers and in-process alike), unless PREFECT_LOGGING_EXTRA_LOGGERS already
    sends the `newswatch` logger there."""
    core = logging.getLogger("newswatch")
    if any(isinstance(h, APILogHandler) for h in core.handlers):
        yield
        return
    handler = _ToRunLogger(get_run_logger())  # type: ignore[arg-type]
    core.addHandler(handler)
    try:
        yield
    finally:
        core.removeHandler(handler)


def developments_table(report: RunReport) -> list[dict[str, str]]:
    """One row per development of the run (the CSV export's columns but the long text)."""
    return [
        {k: v for k, v in flat_record(d).items() if k not in TABLE_LEFT_OUT}
        for d in report.developments
    ]


def stale_message(max_late_minutes: int, now: datetime | None = None) -> str | None:
    """Why this run should do nothing (it started too long after its scheduled time), or None.

    After downtime Prefect starts every missed scheduled run, oldest first; for a news monitor
    only the newest matters, and each run checks all sources anyway. `max_late_minutes <= 0`
    turns the check off.
    """
    if max_late_minutes <= 0:
        return None
    scheduled = flow_run.scheduled_start_time
    late = (now or datetime.now(UTC)) - scheduled
    if late <= timedelta(minutes=max_late_minutes):
        return None
    return (
        f"skipped: this run started {late.total_seconds() / 60:.0f} min after its scheduled time "
        f"{scheduled.isoformat()} (limit max_late_minutes={max_late_minutes}); a newer run "
        "covers the same sources"
    )


GHOST_PENDING = timedelta(minutes=10)  # a run Pending this long is not about to start


def end_ghost_runs() -> list[str]:
    """End the runs of this run's deployment that a dead worker or serve left "Running".

    Only for a deployment that runs one at a time: this run holds the one slot, so any other
    run of it still marked Running, Cancelling, or Pending for long, lost its process (Prefect
    freed the slot when that process stopped renewing its lease; the state stays until
    someone ends it). They become Crashed, so the runs list stops showing ghosts.
    """
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    me = ctx.flow_run if ctx else None
    if me is None or me.deployment_id is None:
        return []
    ended: list[str] = []
    try:
        _end_ghosts(me, ended)
    except Exception as exc:  # tidying the runs list must never cost a monitoring cycle
        get_run_logger().warning("could not look for runs left by a dead process: %s", exc)
    for line in ended:
        get_run_logger().warning(line)
    return ended


def _end_ghosts(me: Any, ended: list[str]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        limit = client.read_deployment(me.deployment_id).global_concurrency_limit
        if limit is None or limit.limit != 1:
            return
        types = [StateType.RUNNING, StateType.CANCELLING, StateType.PENDING]
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[me.deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=types))
            ),
            limit=50,
        )
        young = datetime.now(UTC) - GHOST_PENDING
        for run in runs:
            state = run.state
            if run.id == me.id or state is None:
                continue
            if state.type == StateType.PENDING and state.timestamp > young:
                continue
            why = f"its process is gone: {me.name} holds this deployment's only slot"
            client.set_flow_run_state(run.id, Crashed(message=why), force=True)
            ended.append(f"ended run {run.name} (was {state.name}): {why}")


def publish_skip(kind: str, message: str) -> None:
    """A run that does nothing (started long after its time) says why in a log line and artifact."""
    get_run_logger().warning(message)
    create_markdown_artifact(
        markdown=f"# newswatch {kind}\n\n{message}\n", key=f"newswatch-{kind}", description=message
    )
