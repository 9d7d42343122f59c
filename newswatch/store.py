"""The only persistence seam: SQLite by default, PostgreSQL by URL, migrated on open."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from newswatch.errors import StoreError
from newswatch.models import (
    Attachment,
    Development,
    FigureReading,
    NewStory,
    StoredStory,
    Validators,
)
from newswatch.schema import (
    article_versions,
    articles,
    developments,
    figures,
    http_validators,
    metadata,
    outbox,
    paragraphs,
    runs,
    source_state,
    stories,
    story_bands,
    story_sources,
    topic_matches,
)

MIGRATIONS = str(Path(__file__).with_name("migrations"))


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    url: str
    source: str
    kind: str
    title: str
    published: datetime | None
    first_seen: datetime
    content_hash: str | None
    history: bool


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    development_id: int
    channel: str
    mode: str
    attempts: int
    claim_token: str


@dataclass(frozen=True, slots=True)
class StoredDevelopment:
    id: int
    development: Development


def _insert_ignore(
    conn: Connection, table: Any, values: dict[str, Any] | list[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns the number of rows inserted."""
    if not values:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(values).on_conflict_do_nothing()
    return conn.execute(stmt).rowcount or 0


class Store:
    """All reads and writes of newswatch state. Every public method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> Store:
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (
                None,
                "",
                ":memory:",
            ):
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, future=True, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
                event.listen(engine, "begin", _sqlite_begin)
            store = cls(engine)
            store.migrate()
            return store
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open store {_safe_url(url)}: {exc}") from exc

    def migrate(self) -> None:
        """Create a new store at the newest schema, or bring an existing one up to it."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", MIGRATIONS)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            existing = set(inspect(conn).get_table_names())
            if "alembic_version" not in existing and "articles" not in existing:
                metadata.create_all(conn)
                command.stamp(cfg, "head")
            else:
                command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store error: {exc.__class__.__name__}: {exc}") from exc

    # --- sources ---------------------------------------------------------------------------

    def is_baselined(self, source: str) -> bool:
        with self._tx() as conn:
            row = conn.execute(
                select(source_state.c.baselined_at).where(source_state.c.name == source)
            ).first()
        return bool(row and row[0])

    def record_source_run(
        self, source: str, now: datetime, error: str | None, baseline: bool
    ) -> None:
        with self._tx() as conn:
            _insert_ignore(conn, source_state, {"name": source, "consecutive_failures": 0})
            values: dict[str, Any] = {"last_run_at": now, "last_error": error}
            if error is None:
                values["last_ok_at"] = now
                values["consecutive_failures"] = 0
                if baseline:
                    values["baselined_at"] = now
            else:
                values["consecutive_failures"] = source_state.c.consecutive_failures + 1
            conn.execute(update(source_state).where(source_state.c.name == source).values(values))

    # --- HTTP validators -------------------------------------------------------------------

    def validators(self, url: str) -> Validators | None:
        with self._tx() as conn:
            row = conn.execute(
                select(http_validators.c.etag, http_validators.c.last_modified).where(
                    http_validators.c.url == url
                )
            ).first()
        return Validators(etag=row[0], last_modified=row[1]) if row else None

    def save_validators(self, url: str, v: Validators, now: datetime) -> None:
        if not (v.etag or v.last_modified):
            return
        with self._tx() as conn:
            values = {"etag": v.etag, "last_modified": v.last_modified, "updated_at": now}
            if not _insert_ignore(conn, http_validators, {"url": url, **values}):
                conn.execute(
                    update(http_validators).where(http_validators.c.url == url).values(values)
                )

    # --- articles --------------------------------------------------------------------------

    def article(self, url: str) -> StoredArticle | None:
        with self._tx() as conn:
            row = conn.execute(select(*_ARTICLE_COLS).where(articles.c.url == url)).first()
        return _stored_article(row) if row else None

    def articles_to_recheck(self, source: str, since: datetime) -> list[StoredArticle]:
        """Known, non-history articles of a source first seen after `since` (the watch window)."""
        with self._tx() as conn:
            rows = conn.execute(
                select(*_ARTICLE_COLS)
                .where(articles.c.source == source)
                .where(articles.c.first_seen >= since)
                .where(articles.c.history == 0)
                .order_by(articles.c.first_seen)
            ).all()
        return [_stored_article(r) for r in rows]

    def paragraph_texts(self, article_id: int) -> list[str]:
        """Every paragraph ever seen on the article's URL (what "new text" is measured against)."""
        with self._tx() as conn:
            rows = conn.execute(
                select(paragraphs.c.text)
                .where(paragraphs.c.article_id == article_id)
                .where(paragraphs.c.text.is_not(None))
            ).all()
        return [r[0] for r in rows]

    def story_candidates(self, topic: str, bands: Sequence[tuple[int, int]]) -> list[StoredStory]:
        """Stories of a topic sharing at least one LSH band with a signature (indexed lookups)."""
        if not bands:
            return []
        with self._tx() as conn:
            ids: set[int] = set()
            for band, key in bands:
                ids.update(
                    conn.execute(
                        select(story_bands.c.story_id)
                        .where(story_bands.c.topic == topic)
                        .where(story_bands.c.band == band)
                        .where(story_bands.c.key == key)
                    ).scalars()
                )
            if not ids:
                return []
            rows = conn.execute(select(stories).where(stories.c.id.in_(ids))).all()
        return [
            StoredStory(r.id, r.topic, r.url, r.title, r.signature, r.development_id) for r in rows
        ]

    def figure_history(self, topic: str, measure: str, limit: int = 50) -> list[FigureReading]:
        """The latest readings of a measure, newest first."""
        with self._tx() as conn:
            rows = conn.execute(
                select(figures)
                .where(figures.c.topic == topic)
                .where(figures.c.measure == measure)
                .order_by(figures.c.id.desc())
                .limit(limit)
            ).all()
        return [
            FigureReading(
                r.topic, r.measure, r.value, r.qualifier, r.text, r.sentence, r.url, r.source
            )
            for r in rows
        ]

    def paragraph_keys(self, article_id: int) -> frozenset[str]:
        with self._tx() as conn:
            rows = conn.execute(
                select(paragraphs.c.key).where(paragraphs.c.article_id == article_id)
            ).all()
        return frozenset(r[0] for r in rows)

    def matched_topics(self, article_id: int) -> frozenset[str]:
        with self._tx() as conn:
            rows = conn.execute(
                select(topic_matches.c.topic).where(topic_matches.c.article_id == article_id)
            ).all()
        return frozenset(r[0] for r in rows)

    def touch_article(self, article_id: int, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                update(articles).where(articles.c.id == article_id).values(last_checked=now)
            )

    def save_observation(self, obs: SavedObservation) -> list[int]:
        """Record one fetched article or page and what was detected on it, atomically.

        Returns the ids of developments recorded now (a fingerprint already known is skipped,
        so a re-run or a concurrent cycle cannot record or enqueue a development twice).
        """
        with self._tx() as conn:
            article_id = _upsert_article(conn, obs)
            _insert_ignore(
                conn,
                article_versions,
                {
                    "article_id": article_id,
                    "content_hash": obs.content_hash,
                    "seen_at": obs.now,
                    "title": obs.title,
                    "body": "\n".join(obs.paragraphs),
                },
            )
            _insert_ignore(
                conn,
                paragraphs,
                [
                    {"article_id": article_id, "key": k, "first_seen": obs.now, "text": t}
                    for k, t in obs.new_paragraphs
                ],
            )
            _insert_ignore(
                conn,
                topic_matches,
                [
                    {"article_id": article_id, "topic": t, "first_matched": obs.now}
                    for t in obs.topics
                ],
            )
            recorded = {}
            for dev in obs.developments:
                dev_id = _record_development(conn, dev, article_id, obs)
                if dev_id is not None:
                    recorded[dev.fingerprint] = dev_id
            _save_stories(conn, obs, recorded)
            _save_attachments(conn, obs)
            if obs.figures:
                conn.execute(
                    figures.insert(),
                    [{**asdict(f), "seen_at": obs.now} for f in obs.figures],
                )
            return list(recorded.values())

    # --- developments and the outbox -------------------------------------------------------

    def development(self, dev_id: int) -> Development:
        with self._tx() as conn:
            row = conn.execute(select(developments).where(developments.c.id == dev_id)).one()
        return _development_from_row(row)

    def developments_since(self, since: datetime) -> list[StoredDevelopment]:
        with self._tx() as conn:
            rows = conn.execute(
                select(developments)
                .where(developments.c.detected >= since)
                .order_by(developments.c.id)
            ).all()
        return [StoredDevelopment(r.id, _development_from_row(r)) for r in rows]

    def claim_due(
        self,
        channel: str,
        mode: str,
        now: datetime,
        lease: timedelta,
        limit: int = 100,
        *,
        ignore_schedule: bool = False,
    ) -> list[OutboxItem]:
        """Take the channel's due rows for `lease`; another process will not take them meanwhile.

        `ignore_schedule` also takes rows whose time has not come (a digest sent by hand).
        """
        token = uuid.uuid4().hex
        with self._tx() as conn:
            due = (
                select(outbox.c.id)
                .where(outbox.c.channel == channel)
                .where(outbox.c.mode == mode)
                .where(outbox.c.status == "pending")
                .where((outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now))
                .order_by(outbox.c.id)
                .limit(limit)
            )
            if not ignore_schedule:
                due = due.where(outbox.c.next_attempt_at <= now)
            ids = [r[0] for r in conn.execute(due).all()]
            if not ids:
                return []
            # The WHERE re-checks the claim so two processes racing for a row cannot both win.
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .where((outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now))
                .values(claimed_until=now + lease, claim_token=token)
            )
            rows = conn.execute(
                select(outbox).where(outbox.c.claim_token == token).order_by(outbox.c.id)
            ).all()
        return [
            OutboxItem(r.id, r.development_id, r.channel, r.mode, r.attempts, token) for r in rows
        ]

    def channel_waiting_until(self, channel: str, mode: str, now: datetime) -> datetime | None:
        """When a channel that refused a message may be tried again (None: it is not waiting).

        The whole channel waits, not only the refused row, so later alerts neither overtake
        the refused one nor hammer a service that is down.
        """
        with self._tx() as conn:
            until = conn.execute(
                select(func.max(outbox.c.next_attempt_at))
                .where(outbox.c.channel == channel)
                .where(outbox.c.mode == mode)
                .where(outbox.c.status == "pending")
                .where(outbox.c.attempts > 0)
            ).scalar()
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        return until if until is not None and until > now else None

    def mark_sent(self, items: Iterable[OutboxItem], now: datetime) -> None:
        with self._tx() as conn:
            for item in items:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item.id)
                    .where(outbox.c.claim_token == item.claim_token)
                    .values(
                        status="sent",
                        sent_at=now,
                        claimed_until=None,
                        last_error=None,
                        attempts=outbox.c.attempts + 1,
                    )
                )

    def mark_failed(
        self, items: Iterable[OutboxItem], now: datetime, error: str, retry_at: datetime
    ) -> None:
        with self._tx() as conn:
            for item in items:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item.id)
                    .where(outbox.c.claim_token == item.claim_token)
                    .values(
                        attempts=outbox.c.attempts + 1,
                        last_error=error[:2000],
                        next_attempt_at=retry_at,
                        claimed_until=None,
                    )
                )

    def release(self, items: Iterable[OutboxItem]) -> None:
        """Give claimed rows back untouched (e.g. a channel skipped after another row failed)."""
        with self._tx() as conn:
            for item in items:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item.id)
                    .where(outbox.c.claim_token == item.claim_token)
                    .values(claimed_until=None, claim_token=None)
                )

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        with self._tx() as conn:
            rows = conn.execute(
                select(outbox.c.channel, outbox.c.status, func.count()).group_by(
                    outbox.c.channel, outbox.c.status
                )
            ).all()
        return {(r[0], r[1]): r[2] for r in rows}

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, kind: str, now: datetime) -> int:
        with self._tx() as conn:
            result = conn.execute(runs.insert().values(kind=kind, started=now, report="{}"))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, now: datetime, report: dict[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(finished=now, report=json.dumps(report, default=str))
            )


@dataclass(frozen=True, slots=True)
class Route:
    """Where a development on one of `topics` goes, and from when it may be sent."""

    channel: str
    mode: str  # instant | digest
    topics: frozenset[str]
    not_before: datetime


@dataclass(frozen=True, slots=True)
class SavedObservation:
    """What the pipeline hands the store after detection on one article or page."""

    source: str
    url: str
    kind: str
    title: str
    paragraphs: tuple[str, ...]
    content_hash: str
    now: datetime
    published: datetime | None = None
    updated: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    authors: tuple[str, ...] = ()
    history: bool = False
    new_paragraphs: tuple[tuple[str, str], ...] = ()  # (key, text) never seen on this URL
    stories: tuple[NewStory, ...] = ()  # stories that developments of this observation start
    attachments: tuple[Attachment, ...] = ()  # known stories this article also carries
    figures: tuple[FigureReading, ...] = ()
    topics: tuple[str, ...] = ()
    developments: tuple[Development, ...] = ()
    routes: tuple[Route, ...] = ()
    run_id: int | None = None
    origin: str = "monitor"
    enqueue: bool = True


_ARTICLE_COLS = (
    articles.c.id,
    articles.c.url,
    articles.c.source,
    articles.c.kind,
    articles.c.title,
    articles.c.published,
    articles.c.first_seen,
    articles.c.content_hash,
    articles.c.history,
)


def _stored_article(row: Any) -> StoredArticle:
    return StoredArticle(
        id=row.id,
        url=row.url,
        source=row.source,
        kind=row.kind,
        title=row.title,
        published=row.published,
        first_seen=row.first_seen,
        content_hash=row.content_hash,
        history=bool(row.history),
    )


def _upsert_article(conn: Connection, obs: SavedObservation) -> int:
    values = {
        "title": obs.title,
        "canonical_url": obs.canonical_url,
        "language": obs.language,
        "authors": json.dumps(list(obs.authors)),
        "published": obs.published,
        "updated": obs.updated,
        "last_checked": obs.now,
        "content_hash": obs.content_hash,
    }
    row = conn.execute(
        select(articles.c.id, articles.c.content_hash).where(articles.c.url == obs.url)
    ).first()
    if row is None:
        _insert_ignore(
            conn,
            articles,
            {
                "url": obs.url,
                "source": obs.source,
                "kind": obs.kind,
                "first_seen": obs.now,
                "last_changed": obs.now,
                "history": int(obs.history),
                **values,
            },
        )
        row = conn.execute(
            select(articles.c.id, articles.c.content_hash).where(articles.c.url == obs.url)
        ).one()
        return int(row.id)
    if row.content_hash != obs.content_hash:
        values["last_changed"] = obs.now
    conn.execute(update(articles).where(articles.c.id == row.id).values(values))
    return int(row.id)


def _record_development(
    conn: Connection, dev: Development, article_id: int, obs: SavedObservation
) -> int | None:
    inserted = _insert_ignore(
        conn,
        developments,
        {
            "fingerprint": dev.fingerprint,
            "kind": dev.kind,
            "topic": dev.topic,
            "source": dev.source,
            "article_id": article_id,
            "url": dev.url,
            "title": dev.title,
            "text": json.dumps(list(dev.text)),
            "published": dev.published,
            "detected": dev.detected,
            "terms": json.dumps(list(dev.terms)),
            "outlets": json.dumps(list(dev.outlets)),
            "reason": json.dumps(dev.reason, default=str),
            "run_id": obs.run_id,
            "origin": obs.origin,
        },
    )
    if not inserted:
        return None
    dev_id = int(
        conn.execute(
            select(developments.c.id).where(developments.c.fingerprint == dev.fingerprint)
        ).scalar_one()
    )
    if obs.enqueue:
        _insert_ignore(
            conn,
            outbox,
            [
                {
                    "development_id": dev_id,
                    "channel": r.channel,
                    "mode": r.mode,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": obs.now,
                    "next_attempt_at": r.not_before,
                }
                for r in obs.routes
                if dev.topic in r.topics
            ],
        )
    return dev_id


def _save_stories(conn: Connection, obs: SavedObservation, recorded: dict[str, int]) -> None:
    for story in obs.stories:
        dev_id = recorded.get(story.fingerprint) if story.fingerprint else None
        if story.fingerprint and dev_id is None:
            continue  # another cycle recorded this development (and its story) first
        story_id = conn.execute(  # type: ignore[index]
            stories.insert().values(
                topic=story.topic,
                development_id=dev_id,
                url=obs.url,
                title=obs.title,
                created=obs.now,
                signature=story.signature,
            )
        ).inserted_primary_key[0]
        _insert_ignore(
            conn,
            story_bands,
            [
                {"topic": story.topic, "band": b, "key": k, "story_id": story_id}
                for b, k in story.bands
            ],
        )
        _insert_ignore(
            conn,
            story_sources,
            {
                "story_id": story_id,
                "url": obs.url,
                "source": obs.source,
                "similarity": 1.0,
                "added": obs.now,
            },
        )


def _save_attachments(conn: Connection, obs: SavedObservation) -> None:
    """Record another outlet carrying a story, and list it on the story's development."""
    for att in obs.attachments:
        added = _insert_ignore(
            conn,
            story_sources,
            {
                "story_id": att.story_id,
                "url": obs.url,
                "source": obs.source,
                "similarity": att.similarity,
                "added": obs.now,
            },
        )
        dev_id = conn.execute(
            select(stories.c.development_id).where(stories.c.id == att.story_id)
        ).scalar()
        if not added or dev_id is None:
            continue
        current = conn.execute(
            select(developments.c.outlets).where(developments.c.id == dev_id)
        ).scalar()
        outlets = json.loads(current or "[]")
        if obs.source not in outlets:
            outlets.append(obs.source)
            conn.execute(
                update(developments)
                .where(developments.c.id == dev_id)
                .values(outlets=json.dumps(outlets))
            )


def _development_from_row(row: Any) -> Development:
    return Development(
        fingerprint=row.fingerprint,
        kind=row.kind,
        topic=row.topic,
        source=row.source,
        url=row.url,
        title=row.title,
        text=tuple(json.loads(row.text)),
        published=row.published,
        detected=row.detected,
        terms=tuple(json.loads(row.terms)),
        outlets=tuple(json.loads(row.outlets)),
        reason=json.loads(row.reason),
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA busy_timeout=30000")  # concurrent cycles wait instead of failing
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a read-then-write transaction (claiming outbox
    # rows, recording a development) cannot fail half-way with SQLITE_BUSY when two cycles run.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable store URL>"
