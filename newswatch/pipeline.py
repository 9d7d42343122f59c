"""The one place that sequences the stages: a monitor cycle, a backfill, a digest, a dry check."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from newswatch.deliver import ChannelResult, deliver_digests, deliver_instant
from newswatch.detect import Known, Observation, Rules, content_hash, detect
from newswatch.errors import FetchError, NewswatchError, ParseError
from newswatch.fetch import Fetcher
from newswatch.models import Config, Development, NotifyMode, Source, Validators
from newswatch.report import RunReport, SourceReport
from newswatch.similarity import article_shingles
from newswatch.sources import Getter, Item, discover, observe
from newswatch.store import Route, SavedObservation, Store
from newswatch.timespec import digest_due_at

log = logging.getLogger(__name__)

MAX_NEW_PER_CYCLE = 100  # new articles fetched per source per cycle; the rest wait a cycle
MAX_BASELINE_FETCH = 300  # a baseline records more at once, so fewer old links look new later


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What every stage needs for one run: config, store, fetcher, compiled topics."""

    config: Config
    store: Store
    fetcher: Fetcher
    rules: Rules
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, config: Config, store_url: str | None = None) -> Runtime:
        store = Store.open(store_url or config.store)
        fetcher = Fetcher(user_agent=config.defaults.user_agent)
        return cls(config, store, fetcher, Rules.build(config.topics))

    def close(self) -> None:
        self.fetcher.close()
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def routes(self, now: datetime, mode_override: str | None = None) -> tuple[Route, ...]:
        out = []
        for ch in self.config.channels:
            mode = mode_override or ("digest" if ch.digest else "instant")
            not_before = digest_due_at(ch.digest, now) if mode == "digest" and ch.digest else now
            out.append(Route(ch.name, mode, frozenset(ch.topics), not_before))
        return tuple(out)

    def selected(self, names: Iterable[str] | None) -> list[Source]:
        if not names:
            return list(self.config.sources)
        wanted = list(names)
        unknown = [n for n in wanted if n not in {s.name for s in self.config.sources}]
        if unknown:
            raise NewswatchError(f"unknown source(s): {', '.join(unknown)}")
        return [s for s in self.config.sources if s.name in wanted]


@dataclass(frozen=True, slots=True)
class Pass:
    """How one pass over a source behaves: monitor, backfill or dry check."""

    origin: str = "monitor"  # monitor | backfill | check
    window: tuple[datetime, datetime] | None = None  # backfill: published in [since, until]
    route_mode: str | None = None  # backfill: "instant" or "backfill" (one digest at the end)
    enqueue: bool = True
    dry_run: bool = False


# --- one source ------------------------------------------------------------------------------


def process_source(rt: Runtime, source: Source, run_id: int | None, how: Pass) -> SourceReport:
    """Fetch a source and its items, detect, record; a failure becomes part of the report."""
    now = utcnow()
    baseline = how.origin != "backfill" and not rt.store.is_baselined(source.name)
    report = SourceReport(source.name, source.kind, baseline=baseline)
    # A baseline fetches the source in full: validators left by a backfill must not hide items.
    get = Getter(rt.fetcher, source, _no_validators if baseline else rt.store.validators)
    try:
        items = discover(source, get, report.item_failed)
    except (FetchError, ParseError) as exc:
        report.fail(exc)
    else:
        work, left = _work_list(rt, source, items, now, how, report)
        for url, listed in work:
            _process_item(rt, source, url, listed, get, run_id, how, baseline, report)
        if baseline and left and not how.dry_run:
            # Links a baseline could not fetch are remembered unfetched, as history: left
            # for later they would look new on the next cycle and alert as news.
            _remember_unfetched(rt, source, left)
            left = []
        complete = not left
        # The source's own validators are kept only when everything it listed was handled:
        # after a failed or capped item, the next cycle must see the full listing again.
        if complete and not report.item_errors and report.ok and how.origin == "monitor":
            _keep_validators(rt, get, how, list(get.pending))
    if how.origin == "monitor" and not how.dry_run:
        rt.store.record_source_run(source.name, now, report.error, baseline)
    return report


def _remember_unfetched(rt: Runtime, source: Source, items: list[Item]) -> None:
    now = utcnow()
    for item in items:
        rt.store.save_observation(
            SavedObservation(
                source=source.name,
                url=item.url,
                kind="article",
                title=item.title,
                paragraphs=(),
                content_hash="",
                now=now,
                published=item.published,
                history=True,
                enqueue=False,
            )
        )


def _no_validators(_url: str) -> Validators | None:
    return None


def _keep_validators(rt: Runtime, get: Getter, how: Pass, urls: Iterable[str]) -> None:
    if how.dry_run:
        return
    for url in urls:
        if (v := get.pending.pop(url, None)) is not None:
            rt.store.save_validators(url, v, utcnow())


def _work_list(
    rt: Runtime,
    source: Source,
    items: list[Item] | None,
    now: datetime,
    how: Pass,
    report: SourceReport,
) -> tuple[list[tuple[str, Item | None]], list[Item]]:
    """New items worth fetching, then known articles inside `watch_for`; and the new items the
    per-cycle cap left for later (oldest first, so alerts keep the order of publication).
    """
    if source.kind == "page":
        return [(source.url, None)], []
    report.items = len(items or [])
    work: dict[str, Item | None] = {}
    oldest = now - timedelta(seconds=source.settings.max_age)
    for item in items or []:
        if how.window:
            if item.published and not (how.window[0] <= item.published <= how.window[1]):
                continue
        elif item.published and item.published < oldest:
            report.skipped_old += 1
            continue
        if item.url not in work and rt.store.article(item.url) is None:
            work[item.url] = item
    if not how.window:
        watch_since = now - timedelta(seconds=source.settings.watch_for)
        for known in rt.store.articles_to_recheck(source.name, watch_since):
            work.setdefault(known.url, None)
    new = sorted((i for i in work.values() if i is not None), key=_sort_key)
    if report.baseline:
        new.reverse()  # a baseline fetches the newest first: what later copies will resemble
    limit = MAX_BASELINE_FETCH if report.baseline else MAX_NEW_PER_CYCLE
    chosen: list[tuple[str, Item | None]] = [(i.url, i) for i in new[:limit]]
    chosen += [(u, None) for u, i in work.items() if i is None]
    return chosen, new[limit:]


def _sort_key(item: Item) -> datetime:
    return item.published or datetime.max.replace(tzinfo=UTC)


def _process_item(
    rt: Runtime,
    source: Source,
    url: str,
    listed: Item | None,
    get: Getter,
    run_id: int | None,
    how: Pass,
    baseline: bool,
    report: SourceReport,
) -> None:
    try:
        obs = observe(source, url, get)
    except (FetchError, ParseError) as exc:
        if source.kind == "page":  # the page is the source: its failure is the source's
            report.fail(exc)
        else:
            report.item_failed(url, exc)
        return
    report.fetched += 1
    if obs is None:
        report.not_modified += 1
        return
    if listed and not obs.published and listed.published:
        obs = replace(obs, published=listed.published)
    report.add_developments(record_observation(rt, obs, run_id=run_id, how=how, baseline=baseline))
    _keep_validators(rt, get, how, [url])  # only now: the observation is stored


def record_observation(
    rt: Runtime,
    obs: Observation,
    *,
    run_id: int | None = None,
    how: Pass = Pass(),
    baseline: bool = False,
) -> list[Development]:
    """Detect on one observation and store it; returns the developments that will alert.

    Serialised within the process: two outlets' copies of one story fetched in parallel must
    see each other, so the second is attached to the first instead of alerting again.
    """
    with rt.lock:
        return _record_locked(rt, obs, run_id, how, baseline)


def _record_locked(
    rt: Runtime, obs: Observation, run_id: int | None, how: Pass, baseline: bool
) -> list[Development]:
    now = utcnow()
    stored = rt.store.article(obs.url)
    if stored and stored.content_hash == content_hash(obs.title, obs.paragraphs):
        if not how.dry_run:
            rt.store.touch_article(stored.id, now)
        return []
    known = Known()
    if stored:
        known = Known(
            True,
            rt.store.matched_topics(stored.id),
            rt.store.paragraph_keys(stored.id),
            article_shingles(rt.store.paragraph_texts(stored.id)),
        )
    det = detect(obs, known, rt.rules, rt.store, now)
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
    rt.store.save_observation(
        SavedObservation(
            source=obs.source,
            url=obs.url,
            kind=obs.kind,
            title=obs.title,
            paragraphs=obs.paragraphs,
            content_hash=det.content_hash,
            now=now,
            published=obs.published,
            updated=obs.updated,
            canonical_url=obs.canonical_url,
            language=obs.language,
            authors=obs.authors,
            history=history and how.window is None,
            new_paragraphs=det.new_paragraphs,
            topics=tuple(m.topic for m in det.matches),
            developments=tuple(devs),
            stories=tuple(stories),
            attachments=tuple(det.attachments),
            figures=tuple(det.figures),
            routes=rt.routes(now, how.route_mode),
            run_id=run_id,
            origin=how.origin,
            enqueue=how.enqueue,
        )
    )
    return devs


# --- whole runs ------------------------------------------------------------------------------


def run_sources(
    rt: Runtime,
    sources: Sequence[Source],
    run_id: int | None,
    how: Pass,
    workers: int = 4,
    on_source: Callable[[SourceReport], None] | None = None,
) -> list[SourceReport]:
    """Process sources concurrently (I/O bound; per-host pacing still holds across threads)."""

    def one(src: Source) -> SourceReport:
        try:
            rep = process_source(rt, src, run_id, how)
        except NewswatchError as exc:  # e.g. the store failing mid-source: report, go on
            rep = SourceReport(src.name, src.kind)
            rep.fail(exc)
        if on_source:
            on_source(rep)
        return rep

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(sources) or 1))) as pool:
        return list(pool.map(one, sources))


def run_cycle(
    rt: Runtime,
    source_names: Iterable[str] | None = None,
    on_source: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """One monitor cycle: every source, then instant delivery of what waits in the outbox."""
    run_id, report = begin_run(rt, "monitor")
    report.sources = run_sources(rt, rt.selected(source_names), run_id, Pass(), on_source=on_source)
    report.deliveries = deliver_cycle(rt)
    return finish_run(rt, run_id, report)


def deliver_cycle(rt: Runtime) -> list[ChannelResult]:
    """A monitor cycle's delivery: instant alerts, and backfill digests a channel refused before."""
    now = utcnow()
    results = deliver_instant(rt.store, rt.config.channels, now)
    retried = deliver_digests(
        rt.store, rt.config.channels, now, mode="backfill", due_only=True, label="backfill"
    )
    return results + [r for r in retried if r.sent or r.failed or r.error]


def backfill_pass(since: datetime, until: datetime, notify: NotifyMode) -> Pass:
    if since > until:
        raise NewswatchError(f"backfill window is empty: since {since} is after until {until}")
    return Pass(
        origin="backfill",
        window=(since, until),
        enqueue=notify != "none",
        route_mode="instant" if notify == "instant" else "backfill",
    )


def deliver_backfill(rt: Runtime, how: Pass, notify: NotifyMode) -> list[ChannelResult]:
    """After a backfill: instant messages, or one digest per channel of what it found."""
    now = utcnow()
    if notify == "instant":
        return deliver_instant(rt.store, rt.config.channels, now)
    if notify == "digest" and how.window:
        since, until = how.window
        return deliver_digests(
            rt.store,
            rt.config.channels,
            now,
            mode="backfill",
            due_only=False,
            label=f"backfill {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC",
        )
    return []


def run_backfill(
    rt: Runtime,
    since: datetime,
    until: datetime,
    source_names: Iterable[str] | None = None,
    notify: NotifyMode = "digest",
    on_source: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """Items published in [since, until], oldest first per source, through the same detection."""
    how = backfill_pass(since, until, notify)
    run_id, report = begin_run(rt, "backfill", f"{since.isoformat()} → {until.isoformat()}")
    sources = rt.selected(source_names)
    report.sources = run_sources(rt, sources, run_id, how, workers=1, on_source=on_source)
    report.deliveries = deliver_backfill(rt, how, notify)
    return finish_run(rt, run_id, report)


def run_digest(rt: Runtime, channel: str | None = None, due_only: bool = False) -> RunReport:
    """Send what digest channels collected (only what is due by their schedule if `due_only`)."""
    chans = [c for c in rt.config.channels if channel in (None, c.name)]
    if channel and not chans:
        raise NewswatchError(f"unknown channel: {channel}")
    run_id, report = begin_run(rt, "digest")
    report.deliveries = deliver_digests(rt.store, chans, utcnow(), mode="digest", due_only=due_only)
    return finish_run(rt, run_id, report)


def run_check(rt: Runtime, on_source: Callable[[SourceReport], None] | None = None) -> RunReport:
    """Fetch every source once and report what would alert; sends nothing, stores nothing."""
    report = RunReport("check", utcnow())
    how = Pass(origin="check", dry_run=True, enqueue=False)
    report.sources = run_sources(rt, rt.selected(None), None, how, on_source=on_source)
    report.finished = utcnow()
    return report


def begin_run(rt: Runtime, kind: str, note: str = "") -> tuple[int, RunReport]:
    """Record the start of a run; the flows use this with finish_run around their tasks."""
    started = utcnow()
    return rt.store.start_run(kind, started), RunReport(kind, started, note=note)


def finish_run(rt: Runtime, run_id: int, report: RunReport) -> RunReport:
    report.finished = utcnow()
    rt.store.finish_run(run_id, report.finished, report.to_dict())
    return report
