"""The only persistence seam: SQLite by default, PostgreSQL by URL, migrated on open.

The package holds one module per kind of state: `db` (opening, migrating, the one transaction
helper that turns every database error into StoreError), `schema` and `migrations`,
`observations` (recording what a fetch found, in one transaction), `stories` (finding known
stories and figure readings), `outbox` (what waits for channels; a component delivery uses),
`export` (developments read back for `newswatch developments` and the Atom feeds), and this
facade for the rest (sources, HTTP validators, articles, runs). The store finds
candidates and records decisions; it never makes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from newswatch.models import (
    Development,
    FigureReading,
    History,
    Item,
    Known,
    Lookups,
    RunKind,
    SameStory,
    SavedObservation,
    StoredArticle,
    StoredStory,
    Validators,
)
from newswatch.shingles import article_shingles
from newswatch.store.db import MIGRATIONS, Database, insert_ignore
from newswatch.store.export import recent_developments
from newswatch.store.health import Health
from newswatch.store.observations import write_observation, write_unfetched, write_validators
from newswatch.store.outbox import Outbox
from newswatch.store.pacing import HostPacing
from newswatch.store.schema import (
    articles,
    http_validators,
    outbox,
    paragraphs,
    runs,
    source_state,
    topic_matches,
)
from newswatch.store.stories import figure_history, find_candidates, history, sharing_paragraphs

__all__ = ["MIGRATIONS", "Health", "HostPacing", "Outbox", "Store"]

_IN_CHUNK = 500  # values in one IN (…) list: well under SQLite's and psycopg's limits
_UNFETCHED_PER_TX = 5000  # a baseline's unfetched links written at once: ~0.1 s of write lock


class Store:
    """All reads and writes of newswatch state. Every public method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.outbox = Outbox(db)
        self.health = Health(db)
        self.pacing = HostPacing(db)  # per-host request slots shared with every other process

    @classmethod
    def open(cls, url: str) -> Store:
        return cls(Database.open(url))

    @property
    def name(self) -> str:
        """The store URL without its password, for messages."""
        return self.db.name

    def close(self) -> None:
        self.pacing.close()
        self.db.close()

    # --- sources ---------------------------------------------------------------------------

    def is_baselined(self, source: str) -> bool:
        with self.db.read() as conn:
            row = conn.execute(
                select(source_state.c.baselined_at).where(source_state.c.name == source)
            ).first()
        return bool(row and row[0])

    def last_monitor_run(self, source: str) -> datetime | None:
        """When the source's last monitor cycle started (None: never monitored)."""
        with self.db.read() as conn:
            return conn.execute(
                select(source_state.c.last_run_at).where(source_state.c.name == source)
            ).scalar()

    def record_source_run(
        self,
        source: str,
        now: datetime,
        error: str | None,
        baseline: bool,
        new_items: int = 0,
        developments: int = 0,
    ) -> None:
        with self.db.tx() as conn:
            insert_ignore(conn, source_state, {"name": source, "consecutive_failures": 0})
            values: dict[str, Any] = {"last_run_at": now, "last_error": error}
            if new_items or (baseline and error is None):
                values["last_new_at"] = now  # a baseline starts the silence clock
            if developments:
                values["last_development_at"] = now
            if error is None:
                values["last_ok_at"] = now
                values["consecutive_failures"] = 0
                if baseline:
                    values["baselined_at"] = now
            else:
                values["consecutive_failures"] = source_state.c.consecutive_failures + 1
            conn.execute(update(source_state).where(source_state.c.name == source).values(values))

    def channels_waiting(self) -> list[tuple[str, str, int, datetime, str | None]]:
        """Channels holding alerts after a refusal: (channel, mode, rows, next try, last error)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    outbox.c.channel,
                    outbox.c.mode,
                    func.count(),
                    func.max(outbox.c.next_attempt_at),
                    func.max(outbox.c.last_error),
                )
                .where(outbox.c.status == "pending")
                .where(outbox.c.attempts > 0)
                .group_by(outbox.c.channel, outbox.c.mode)
            ).all()
        waiting = [(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows]
        waiting += [(c, "health", n, t, e) for c, n, t, e in self.health.waiting()]
        return sorted(waiting)

    # --- HTTP validators -------------------------------------------------------------------

    def validators(self, url: str) -> Validators | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(http_validators.c.etag, http_validators.c.last_modified).where(
                    http_validators.c.url == url
                )
            ).first()
        return Validators(etag=row[0], last_modified=row[1]) if row else None

    def validators_for(self, urls: Sequence[str]) -> dict[str, Validators]:
        """The stored validators of many URLs at once (a cycle's re-checks), in few reads."""
        found: dict[str, Validators] = {}
        with self.db.read() as conn:
            for start in range(0, len(urls), _IN_CHUNK):
                rows = conn.execute(
                    select(
                        http_validators.c.url,
                        http_validators.c.etag,
                        http_validators.c.last_modified,
                    ).where(http_validators.c.url.in_(urls[start : start + _IN_CHUNK]))
                ).all()
                found.update((r[0], Validators(etag=r[1], last_modified=r[2])) for r in rows)
        return found

    def save_validators(self, url: str, v: Validators, now: datetime) -> None:
        if not (v.etag or v.last_modified):
            return
        with self.db.tx() as conn:
            write_validators(conn, url, v, now)

    # --- articles --------------------------------------------------------------------------

    def article(self, url: str) -> StoredArticle | None:
        with self.db.read() as conn:
            row = conn.execute(select(*_ARTICLE_COLS).where(articles.c.url == url)).first()
        return _stored_article(row) if row else None

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Those of `urls` the store has an article or page for (one read, _IN_CHUNK at a time)."""
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        with self.db.read() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                part = wanted[start : start + _IN_CHUNK]
                found.update(
                    conn.execute(select(articles.c.url).where(articles.c.url.in_(part))).scalars()
                )
        return found

    def remember_unfetched(self, source: str, items: Iterable[Item], now: datetime) -> None:
        """Record links a baseline listed but did not fetch, as history: known from now on, so
        never news. The rows `save_observation` writes for each as a history observation
        without text, a few statements per _IN_CHUNK links and a transaction per
        _UNFETCHED_PER_TX (a URL listed twice counts once).
        """
        first: dict[str, Item] = {}
        for item in items:
            first.setdefault(item.url, item)
        links = list(first.values())
        for start in range(0, len(links), _UNFETCHED_PER_TX):
            batch = links[start : start + _UNFETCHED_PER_TX]
            with self.db.tx() as conn:
                for part in range(0, len(batch), _IN_CHUNK):
                    write_unfetched(conn, source, batch[part : part + _IN_CHUNK], now)

    def known(self, url: str) -> Known:
        """What detection needs to know about a URL: one read."""
        with self.db.read() as conn:
            row = conn.execute(
                select(articles.c.id, articles.c.content_hash).where(articles.c.url == url)
            ).first()
            if row is None:
                return Known()
            texts = conn.execute(
                select(paragraphs.c.key, paragraphs.c.text).where(paragraphs.c.article_id == row.id)
            ).all()
            topics = conn.execute(
                select(topic_matches.c.topic).where(topic_matches.c.article_id == row.id)
            ).all()
        return Known(
            exists=True,
            topics=frozenset(t[0] for t in topics),
            paragraph_keys=frozenset(t.key for t in texts),
            seen=article_shingles(t.text for t in texts if t.text is not None),
            content_hash=row.content_hash,
            article_id=int(row.id),
        )

    def articles_to_recheck(self, source: str, since: datetime) -> list[StoredArticle]:
        """Known, non-history articles of a source first seen after `since` (the watch window)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(*_ARTICLE_COLS)
                .where(articles.c.source == source)
                .where(articles.c.first_seen >= since)
                .where(articles.c.history == 0)
                .order_by(articles.c.first_seen)
            ).all()
        return [_stored_article(r) for r in rows]

    def touch_article(
        self, article_id: int, now: datetime, validators: tuple[str, Validators] | None = None
    ) -> None:
        """Note an unchanged article as checked now, with the validators of the response that
        said so (if any), in one transaction."""
        with self.db.tx() as conn:
            conn.execute(
                update(articles).where(articles.c.id == article_id).values(last_checked=now)
            )
            if validators is not None:
                write_validators(conn, *validators, now)

    def save_observation(self, obs: SavedObservation, same_story: SameStory) -> list[int]:
        """Record one fetched article or page and what was detected on it, atomically.

        Returns the ids of developments recorded now (a fingerprint already known is skipped,
        so a re-run or a concurrent cycle cannot record or enqueue a development twice).
        """
        with self.db.tx() as conn:
            return write_observation(conn, obs, same_story)

    # --- stories and figures ---------------------------------------------------------------

    def history(self, lookups: Lookups) -> History:
        """What detection asked for: known copies of would-be stories, past figure readings."""
        if not (lookups.stories or lookups.measures):
            return History()
        with self.db.read() as conn:
            return history(conn, lookups)

    def story_candidates(
        self, topic: str, bands: tuple[tuple[int, int], ...] | list[tuple[int, int]]
    ) -> list[StoredStory]:
        """Stories of a topic sharing at least one LSH band with a signature (indexed lookups)."""
        with self.db.read() as conn:
            return find_candidates(conn, topic, bands)

    def stories_sharing(
        self, topic: str, keys: tuple[str, ...] | list[str]
    ) -> list[tuple[StoredStory, int]]:
        """Stories of a topic with evidence paragraphs equal to some of `keys` (indexed)."""
        with self.db.read() as conn:
            return sharing_paragraphs(conn, topic, keys)

    def recent_developments(
        self, since: datetime | None = None, topics: Sequence[str] = (), limit: int | None = None
    ) -> list[Development]:
        """Developments newest first, with every outlet carrying them, for export and feeds."""
        with self.db.read() as conn:
            return recent_developments(conn, since, topics, limit)

    def figure_history(self, topic: str, measure: str, limit: int = 50) -> list[FigureReading]:
        """The latest readings of a measure, newest first."""
        with self.db.read() as conn:
            return figure_history(conn, topic, measure, limit)

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, kind: RunKind, now: datetime) -> int:
        with self.db.tx() as conn:
            result = conn.execute(runs.insert().values(kind=kind, started=now, report="{}"))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, now: datetime, report: dict[str, Any]) -> None:
        with self.db.tx() as conn:
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
