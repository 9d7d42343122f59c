"""The one sequencer: a monitor cycle, a backfill, a digest and a dry check, start to end.

Every run goes the same way: check the names it was given, begin the run, pass over each source
(fan-out), deliver, finish the run. The CLI runs it in-process with the default `Steps`; the
Prefect flows pass their own (a task for the sources, one for delivery) and publish the report, so
the command line and the flows cannot do different things.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, get_args

from newswatch.acquire import Getter, discover, observe
from newswatch.dedupe import copy_of
from newswatch.errors import (
    BudgetSpent,
    FetchError,
    NewswatchError,
    ParseError,
    StoreError,
    UsageError,
)
from newswatch.feedfiles import update_feeds
from newswatch.fetch import Fetcher
from newswatch.health import assess
from newswatch.models import (
    Channel,
    ChannelResult,
    Config,
    DeliveryMode,
    Development,
    Item,
    NotifyMode,
    Observation,
    Origin,
    Route,
    RunKind,
    SavedObservation,
    Source,
    Validators,
)
from newswatch.novelty import unchanged
from newswatch.parsing import InProcess, parsing_for_this_machine
from newswatch.report import RunReport, SourceReport
from newswatch.shards import Shard, parse_shard
from newswatch.store import Store
from newswatch.timespec import digest_due_at, parse_window

if TYPE_CHECKING:
    from newswatch.detect import Plan, Rules

log = logging.getLogger(__name__)

MAX_NEW_PER_CYCLE = 100  # new articles fetched per source per cycle; the rest wait a cycle
MAX_BASELINE_FETCH = 300  # a baseline records more at once, so fewer old links look new later
SOURCE_WORKERS = 8  # fetching is I/O bound; per-host pacing still holds across these threads


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What every stage needs for one run: config, store, fetcher, compiled topics."""

    config: Config
    store: Store
    fetcher: Fetcher
    parsing: InProcess = field(default_factory=InProcess)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _rules: Rules | None = None

    @classmethod
    def open(
        cls, config: Config, store_url: str | None = None, shared_pacing: bool = True
    ) -> Runtime:
        """Open the store and a fetcher whose per-host pacing holds across every process that
        shares the store (`shared_pacing`; off for a dry check, which writes nothing).
        """
        store = Store.open(store_url or config.store)
        pacing = store.pacing if shared_pacing else None
        fetcher = Fetcher(user_agent=config.defaults.user_agent, pacing=pacing)
        return cls(config, store, fetcher, parsing_for_this_machine(config.topics))

    @property
    def rules(self) -> Rules:
        """The topics compiled, on first use: a cycle where nothing changed never needs them
        (nor the detection modules, which are imported here)."""
        if self._rules is None:
            from newswatch.detect import Rules

            self._rules = Rules.build(self.config.topics)
        return self._rules

    def close(self) -> None:
        self.parsing.close()
        self.fetcher.close()
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def routes(self, now: datetime, mode_override: DeliveryMode | None = None) -> tuple[Route, ...]:
        out = []
        for ch in self.config.channels:
            mode: DeliveryMode = mode_override or ("digest" if ch.digest else "instant")
            not_before = digest_due_at(ch.digest, now) if mode == "digest" and ch.digest else now
            out.append(Route(ch.name, mode, frozenset(ch.topics), not_before))
        return tuple(out)

    def selected(
        self, names: Iterable[str] | None, shard: str | Shard | None = None
    ) -> list[Source]:
        """The sources named (all when none), of those the ones in `shard` ("I/N") if given;
        an unknown name or a malformed shard is a usage error.
        """
        part = parse_shard(shard)
        wanted = list(names or [])
        unknown = [n for n in wanted if n not in {s.name for s in self.config.sources}]
        if unknown:
            raise UsageError(f"no such source in {self.config.path}: {', '.join(unknown)}")
        return [
            s
            for s in self.config.sources
            if (not wanted or s.name in wanted) and (part is None or part.takes(s.name))
        ]


@dataclass(frozen=True, slots=True)
class Pass:
    """How one run treats its sources: monitor, backfill or dry check."""

    origin: Origin = "monitor"
    run_id: int | None = None
    window: tuple[datetime, datetime] | None = None  # backfill: published in [since, until]
    route_mode: DeliveryMode | None = None  # backfill: "instant" or "backfill" (one digest)
    enqueue: bool = True
    dry_run: bool = False
    parallel: bool = True  # a backfill goes source by source: who carried a story first is fixed


# --- the two steps a flow may replace ------------------------------------------------------

OnSource = Callable[[SourceReport], None]
Send = Callable[[], list[ChannelResult]]


def fan_out_in_threads(
    rt: Runtime, sources: Sequence[Source], how: Pass, on_source: OnSource | None = None
) -> list[SourceReport]:
    """Each source in a thread of this process (I/O bound; per-host pacing holds across them)."""

    def one(src: Source) -> SourceReport:
        rep = process_source(rt, src, how)
        if on_source:
            on_source(rep)
        return rep

    workers = SOURCE_WORKERS if how.parallel else 1
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(sources) or 1))) as pool:
        return list(pool.map(one, sources))


def deliver_now(send: Send) -> list[ChannelResult]:
    return send()


FanOut = Callable[[Runtime, Sequence[Source], Pass, OnSource | None], list[SourceReport]]
Deliver = Callable[[Send], list[ChannelResult]]


@dataclass(frozen=True)
class Steps:
    """How a run passes over its sources and delivers; flows hand in Prefect tasks for both."""

    fan_out: FanOut = fan_out_in_threads
    deliver: Deliver = deliver_now
    on_source: OnSource | None = None  # progress: called as each source finishes


# --- whole runs ----------------------------------------------------------------------------


def run_cycle(
    rt: Runtime,
    source_names: Iterable[str] | None = None,
    steps: Steps = Steps(),
    shard: str | Shard | None = None,
) -> RunReport:
    """One monitor cycle: every source (of the shard), then instant delivery from the outbox."""
    sources = rt.selected(source_names, shard)
    report = begin_run(rt, "monitor")
    how = Pass(run_id=report.run_id)
    report.sources = steps.fan_out(rt, sources, how, steps.on_source)
    with _store_guard(report):
        report.health = check_health(rt, sources, utcnow())
    with _store_guard(report):
        report.deliveries = steps.deliver(lambda: deliver_cycle(rt))
    return finish_run(rt, report)


def deliver_cycle(rt: Runtime) -> list[ChannelResult]:
    """A monitor cycle's delivery: instant alerts, backfill digests a channel refused before, and
    health alarms and recovery notices."""
    from newswatch.deliver import deliver_digests, deliver_health, deliver_instant

    now = utcnow()
    outbox, channels = rt.store.outbox, rt.config.channels
    results = deliver_instant(outbox, channels, now)
    retried = deliver_digests(
        outbox, channels, now, mode="backfill", due_only=True, label="backfill"
    )
    health = deliver_health(rt.store.health, channels, now)
    return results + [r for r in retried + health if r.sent or r.failed or r.error]


def check_health(rt: Runtime, sources: Sequence[Source], now: datetime) -> list[str]:
    """Raise an alarm for each source failing or silent too long, announce recoveries; each
    change once (the store lets one process win) and enqueued for every health channel."""
    channels = [c.name for c in rt.config.channels if c.health]
    by_name = {s.name: s for s in sources}
    notes = []
    for state in rt.store.health.states(list(by_name)):
        change = assess(state, by_name[state.name].settings, now)
        if change and rt.store.health.apply(change, channels, now):
            notes.append(change.title)
            log.warning("%s: %s", change.title, change.body)
    return notes


@contextmanager
def _store_guard(report: RunReport) -> Iterator[None]:
    """A store failure after the sources: noted in the report (the run fails), not raised."""
    try:
        yield
    except StoreError as exc:
        report.store_error = report.store_error or str(exc)
        log.error("%s", exc)


@dataclass(frozen=True, slots=True)
class Backfill:
    """A checked backfill request."""

    since: datetime
    until: datetime
    sources: tuple[str, ...]
    notify: NotifyMode

    @property
    def label(self) -> str:
        return f"backfill {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC"


def plan_backfill(
    config: Config,
    since: str,
    until: str | None,
    sources: Iterable[str] | None = None,
    notify: str = "digest",
    now: datetime | None = None,
) -> Backfill:
    """Check a backfill's window, sources and notify mode exactly once, for CLI and flow alike."""
    start, end = parse_window(since, until, now or utcnow())
    if notify not in get_args(NotifyMode):
        raise UsageError(f"backfill: notify must be one of digest, none, instant, not {notify!r}")
    names = tuple(sources or ())
    unknown = [n for n in names if n not in {s.name for s in config.sources}]
    if unknown:
        raise UsageError(f"backfill: no such source in {config.path}: {', '.join(unknown)}")
    return Backfill(start, end, names, notify)  # type: ignore[arg-type]


def run_backfill(rt: Runtime, plan: Backfill, steps: Steps = Steps()) -> RunReport:
    """Items published in the window, source by source, through the monitor's detection."""
    sources = rt.selected(plan.sources)
    report = begin_run(rt, "backfill", f"{plan.since.isoformat()} → {plan.until.isoformat()}")
    how = Pass(
        origin="backfill",
        run_id=report.run_id,
        window=(plan.since, plan.until),
        enqueue=plan.notify != "none",
        route_mode="instant" if plan.notify == "instant" else "backfill",
        parallel=False,
    )
    report.sources = steps.fan_out(rt, sources, how, steps.on_source)
    with _store_guard(report):
        report.deliveries = steps.deliver(lambda: deliver_backfill(rt, plan))
    return finish_run(rt, report)


def deliver_backfill(rt: Runtime, plan: Backfill) -> list[ChannelResult]:
    """After a backfill: instant messages, or one digest per channel of what it found."""
    from newswatch.deliver import deliver_digests, deliver_instant

    now = utcnow()
    if plan.notify == "instant":
        return deliver_instant(rt.store.outbox, rt.config.channels, now)
    if plan.notify == "digest":
        return deliver_digests(
            rt.store.outbox,
            rt.config.channels,
            now,
            mode="backfill",
            due_only=False,
            label=plan.label,
        )
    return []


def digest_channels(config: Config, channel: str | None) -> list[Channel]:
    """The digest channels a digest run sends to; naming an unknown or instant one is an error."""
    if not channel:
        return [c for c in config.channels if c.digest]
    found = [c for c in config.channels if c.name == channel]
    if not found:
        raise UsageError(f"--channel {channel}: no such channel in {config.path}")
    if not found[0].digest:
        raise UsageError(
            f"--channel {channel}: an instant channel (no `digest:` in {config.path}); "
            "its alerts are sent as they are found"
        )
    return found


def run_digest(
    rt: Runtime, channel: str | None = None, due_only: bool = False, steps: Steps = Steps()
) -> RunReport:
    """Send what digest channels collected (only what is due by their schedule if `due_only`)."""
    chans = digest_channels(rt.config, channel)
    report = begin_run(rt, "digest")

    def send() -> list[ChannelResult]:
        from newswatch.deliver import deliver_digests

        return deliver_digests(rt.store.outbox, chans, utcnow(), mode="digest", due_only=due_only)

    with _store_guard(report):
        report.deliveries = steps.deliver(send)
    return finish_run(rt, report)


def run_check(rt: Runtime, on_source: OnSource | None = None) -> RunReport:
    """Fetch every source once and report what would alert; sends nothing, stores nothing."""
    report = RunReport("check", utcnow())
    how = Pass(origin="check", dry_run=True, enqueue=False)
    report.sources = fan_out_in_threads(rt, rt.selected(None), how, on_source)
    report.finished = utcnow()
    return report


def begin_run(rt: Runtime, kind: RunKind, note: str = "") -> RunReport:
    """Record the run's start; a store that cannot be written fails here, before any fetch."""
    started = utcnow()
    run_id = rt.store.start_run(kind, started)
    return RunReport(kind, started, note=note, run_id=run_id, store=rt.store.name)


def finish_run(rt: Runtime, report: RunReport) -> RunReport:
    report.feeds_error = update_feeds(rt.store, rt.config, utcnow())
    report.finished = utcnow()
    if report.run_id is not None:
        with _store_guard(report):
            rt.store.finish_run(report.run_id, report.finished, report.to_dict())
    return report


# --- one source ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceJob:
    """One pass over one source: what its items share (the source, the run, the fetcher)."""

    source: Source
    how: Pass
    baseline: bool
    now: datetime
    get: Getter
    report: SourceReport


def process_source(rt: Runtime, source: Source, how: Pass) -> SourceReport:
    """Fetch a source and its items, detect, record; any failure becomes part of the report,
    a bug in newswatch included: one source's crash never costs the others their pass."""
    started = time.monotonic()
    try:
        report = _process_source(rt, source, how)
    except StoreError as exc:  # the store's failure, not the source's: the run will fail
        report = SourceReport(source.name, source.kind)
        report.store_failure(exc)
        log.error("source %s: %s", source.name, exc)
    except NewswatchError as exc:
        report = SourceReport(source.name, source.kind)
        report.fail(exc)
    except Exception as exc:
        log.exception("source %s crashed", source.name)
        report = SourceReport(source.name, source.kind)
        report.fail(exc)
    report.seconds = time.monotonic() - started
    return report


def _process_source(rt: Runtime, source: Source, how: Pass) -> SourceReport:
    now = utcnow()
    baseline = how.origin != "backfill" and not rt.store.is_baselined(source.name)
    if how.window and how.origin == "backfill":
        how = replace(how, window=_backfill_window(rt, source, how.window))
    # A baseline fetches the source in full: validators left by a backfill must not hide items.
    get = Getter(rt.fetcher, source, _no_validators if baseline else rt.store.validators)
    get.deadline = time.monotonic() + source.settings.budget
    job = SourceJob(
        source, how, baseline, now, get, SourceReport(source.name, source.kind, baseline)
    )
    try:
        items = discover(source, get, job.report.item_failed)
    except (FetchError, ParseError) as exc:
        job.report.fail(exc)
    else:
        _process_items(rt, job, items)
    report = job.report
    if report.error:
        log.warning("source %s failed: %s", source.name, report.error)
    if how.origin == "monitor" and not how.dry_run:
        rt.store.record_source_run(
            source.name, now, report.error, baseline, report.new_items, len(report.developments)
        )
    return report


def _backfill_window(
    rt: Runtime, source: Source, window: tuple[datetime, datetime]
) -> tuple[datetime, datetime]:
    """A backfill stops where the source's last monitor cycle began: what was published since
    is the monitor's to alert on (instantly), not a backfill digest's."""
    last = rt.store.last_monitor_run(source.name)
    if last is None or last >= window[1]:
        return window
    return window[0], last


def _process_items(rt: Runtime, job: SourceJob, items: list[Item] | None) -> None:
    work, left = _work_list(rt, job, items)
    if not job.baseline and len(work) > 1:
        job.get.preload((url for url, _ in work), rt.store.validators_for)
    for i, (url, listed) in enumerate(work):
        if not _within_budget(job) or not _process_item(rt, job, url, listed):
            # What the budget left waits for the next cycle; the validators are not kept, so
            # the next cycle sees the full listing again.
            job.report.budget_spent = True
            job.report.left = len(work) - i + len(left)
            left += [it for _, it in work[i:] if it is not None]
            log.warning(
                "source %s: budget %.0fs spent; %d item(s) left for the next cycle",
                job.source.name,
                job.source.settings.budget,
                job.report.left,
            )
            break
    if job.baseline and left and not job.how.dry_run:
        # Links a baseline could not fetch are remembered unfetched, as history: left for
        # later they would look new on the next cycle and alert as news.
        _remember_unfetched(rt, job.source, left)
        left = []
    # The source's own validators are kept only when everything it listed was handled: after a
    # failed or capped item, the next cycle must see the full listing again.
    report = job.report
    done = not left and not report.budget_spent
    if done and not report.item_errors and report.ok and job.how.origin == "monitor":
        _keep_validators(rt, job, list(job.get.pending))


def _within_budget(job: SourceJob) -> bool:
    return job.get.deadline is None or time.monotonic() < job.get.deadline


def _remember_unfetched(rt: Runtime, source: Source, items: list[Item]) -> None:
    rt.store.remember_unfetched(source.name, items, utcnow())


def _no_validators(_url: str) -> Validators | None:
    return None


def _keep_validators(rt: Runtime, job: SourceJob, urls: Iterable[str]) -> None:
    if job.how.dry_run:
        return
    for url in urls:
        if (v := job.get.pending.pop(url, None)) is not None:
            rt.store.save_validators(url, v, utcnow())


def _work_list(
    rt: Runtime, job: SourceJob, items: list[Item] | None
) -> tuple[list[tuple[str, Item | None]], list[Item]]:
    """New items worth fetching, then known articles inside `watch_for`; and the new items the
    per-cycle cap left for later (oldest first, so alerts keep the order of publication).
    """
    source, how, report = job.source, job.how, job.report
    if source.kind == "page":
        return [(source.url, None)], []
    report.items = len(items or [])
    listed: dict[str, Item] = {}
    oldest = job.now - timedelta(seconds=source.settings.max_age)
    for item in items or []:
        if how.window:
            if item.published and not (how.window[0] <= item.published <= how.window[1]):
                continue
        elif item.published and item.published < oldest:
            report.skipped_old += 1
            continue
        listed.setdefault(item.url, item)
    stored = rt.store.known_urls(listed)
    work: dict[str, Item | None] = {u: i for u, i in listed.items() if u not in stored}
    if not how.window:
        watch_since = job.now - timedelta(seconds=source.settings.watch_for)
        for known in rt.store.articles_to_recheck(source.name, watch_since):
            work.setdefault(known.url, None)
    new = sorted((i for i in work.values() if i is not None), key=_sort_key)
    if job.baseline:
        new.reverse()  # a baseline fetches the newest first: what later copies will resemble
    limit = MAX_BASELINE_FETCH if job.baseline else MAX_NEW_PER_CYCLE
    chosen: list[tuple[str, Item | None]] = [(i.url, i) for i in new[:limit]]
    chosen += [(u, None) for u, i in work.items() if i is None]
    return chosen, new[limit:]


def _sort_key(item: Item) -> datetime:
    return item.published or datetime.max.replace(tzinfo=UTC)


def _process_item(rt: Runtime, job: SourceJob, url: str, listed: Item | None) -> bool:
    """Fetch, detect and record one item; False when the source's budget ran out meanwhile."""
    try:
        obs = observe(job.source, url, job.get, rt.parsing)
    except BudgetSpent:
        return False
    except (FetchError, ParseError) as exc:
        if job.source.kind == "page":  # the page is the source: its failure is the source's
            job.report.fail(exc)
        else:
            job.report.item_failed(url, exc)
        return True
    job.report.fetched += 1
    if obs is None:
        job.report.not_modified += 1
        return True
    if listed is not None or job.source.kind == "page":
        job.report.new_items += 1
    if listed and not obs.published and listed.published:
        obs = replace(obs, published=listed.published)
    # A listed item was new when the work list was made: detection's first step needs nothing
    # from the store, so it runs beside the parser (and is redone if the URL became known).
    plan = rt.parsing.analyse(obs, rt.rules) if listed is not None else None
    # The response's validators are stored with the observation, in its transaction.
    v = None if job.how.dry_run else job.get.pending.pop(url, None)
    kept = (url, v) if v is not None else None
    job.report.add_developments(record_observation(rt, obs, job.how, job.baseline, plan, kept))
    return True


# --- one observation -----------------------------------------------------------------------


def record_observation(
    rt: Runtime,
    obs: Observation,
    how: Pass = Pass(),
    baseline: bool = False,
    new_plan: Plan | None = None,
    validators: tuple[str, Validators] | None = None,
) -> list[Development]:
    """Detect on one observation and store it; returns the developments that will alert.

    `validators` (requested URL, validators of the response) are stored with it. Serialised
    within the process: two outlets' copies of one story fetched in parallel must see each
    other, so the second is attached to the first instead of alerting again.
    """
    with rt.lock:
        return _record_locked(rt, obs, how, baseline, new_plan, validators)


def _record_locked(
    rt: Runtime,
    obs: Observation,
    how: Pass,
    baseline: bool,
    new_plan: Plan | None,
    validators: tuple[str, Validators] | None,
) -> list[Development]:
    """`new_plan`: `analyse` already run for `obs` as on a URL never seen, used if still so."""
    from newswatch.detect import analyse, decide

    now = utcnow()
    known = rt.store.known(obs.url)
    if unchanged(obs, known):
        if how.dry_run:
            return []
        if known.article_id is not None:
            rt.store.touch_article(known.article_id, now, validators)
        elif validators is not None:
            rt.store.save_validators(*validators, now)
        return []
    if new_plan is not None and new_plan.obs == obs and not known.exists:
        plan = new_plan
    else:
        plan = analyse(obs, known, rt.rules)
    det = decide(plan, rt.store.history(plan.lookups), now)
    max_age = rt.config.source(obs.source).settings.max_age
    # A watched page is never history: a live page started days ago still gains news.
    old = bool(obs.published and obs.published < now - timedelta(seconds=max_age))
    history = old and obs.kind != "page"
    in_window = how.window is None or (
        obs.published is not None and how.window[0] <= obs.published <= how.window[1]
    )
    alert = not baseline and in_window and (how.window is not None or not history)
    devs = det.developments if alert else []
    if how.dry_run:  # `check --fetch` shows matches on a baseline too, labelled as such
        return det.developments if in_window and not history else []
    stories = det.stories if alert else [replace(s, fingerprint=None) for s in det.stories]
    saved = SavedObservation(
        observation=obs,
        content_hash=det.content_hash,
        now=now,
        history=history and how.window is None,
        new_paragraphs=det.new_paragraphs,
        topics=tuple(m.topic for m in det.matches),
        developments=tuple(devs),
        stories=tuple(stories),
        attachments=tuple(det.attachments),
        figures=tuple(det.figures),
        routes=rt.routes(now, how.route_mode),
        run_id=how.run_id,
        origin=how.origin,
        enqueue=how.enqueue,
        validators=validators,
    )
    rt.store.save_observation(saved, copy_of)
    return devs
