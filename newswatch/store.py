"""The only persistence seam: SQLite by default, PostgreSQL by URL, migrated on open."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from newswatch.errors import StoreError
from newswatch.models import (
    Development,
    FigureReading,
    StoredStory,
    Validators,
)
from newswatch.schema import (
    articles,
    figures,
    http_validators,
    metadata,
    paragraphs,
    runs,
    source_state,
    topic_matches,
)
from newswatch.store_base import insert_ignore
from newswatch.store_export import recent_developments
from newswatch.store_outbox import OutboxItem, OutboxStore, StoredDevelopment
from newswatch.store_stories import find_candidates, sharing_paragraphs
from newswatch.store_writes import Route, SavedObservation, write_observation

__all__ = [
    "MIGRATIONS",
    "OutboxItem",
    "Route",
    "SavedObservation",
    "Store",
    "StoredArticle",
    "StoredDevelopment",
]

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


class Store(OutboxStore):
    """All reads and writes of newswatch state. Every public method is one transaction."""

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
            if conn.dialect.name == "postgresql":
                # Workers starting together on a new database: one creates, the others wait.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262011)")
            cfg.attributes["connection"] = conn
            existing = set(inspect(conn).get_table_names())
            if "alembic_version" not in existing and "articles" not in existing:
                metadata.create_all(conn)
                command.stamp(cfg, "head")
            else:
                command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

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
            insert_ignore(conn, source_state, {"name": source, "consecutive_failures": 0})
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
            if not insert_ignore(conn, http_validators, {"url": url, **values}):
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
        with self.engine.connect() as conn:  # a read: no need to queue behind writers
            return find_candidates(conn, topic, bands)

    def stories_sharing(self, topic: str, keys: Sequence[str]) -> list[tuple[StoredStory, int]]:
        """Stories of a topic with evidence paragraphs equal to some of `keys` (indexed)."""
        with self.engine.connect() as conn:
            return sharing_paragraphs(conn, topic, keys)

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
            return write_observation(conn, obs)

    def recent_developments(
        self, since: datetime | None = None, topics: Sequence[str] = (), limit: int | None = None
    ) -> list[Development]:
        """Developments newest first, for export and the Atom feeds (a read: no write lock)."""
        try:
            with self.engine.connect() as conn:
                return recent_developments(conn, since, topics, limit)
        except SQLAlchemyError as exc:
            raise StoreError(f"store error: {exc.__class__.__name__}: {exc}") from exc

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
