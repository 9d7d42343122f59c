"""The alert outbox: rows claimed with a lease, sent one by one, retried with channel backoff.

A component of the store that delivery depends on (`Store.outbox`); nothing else writes it but
the recording of a development, which enqueues its rows in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select, update

from newswatch.models import DeliveryMode, Development, OutboxItem
from newswatch.store.claims import holder_gone, this_holder
from newswatch.store.db import Database
from newswatch.store.schema import developments, outbox, stories, story_sources


class Outbox:
    """Developments waiting for channels, and the rows that say what was sent where."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def development(self, dev_id: int) -> Development:
        """A development as it is to be sent, with every outlet known to carry its story now."""
        with self.db.read() as conn:
            row = conn.execute(select(developments).where(developments.c.id == dev_id)).one()
            carriers = conn.execute(
                select(story_sources.c.source, story_sources.c.url)
                .join(stories, stories.c.id == story_sources.c.story_id)
                .where(stories.c.development_id == dev_id)
                .where(story_sources.c.url != row.url)
                .order_by(story_sources.c.added, story_sources.c.source)
            ).all()
        dev = development_from_row(row)
        if not carriers:
            return dev
        names = tuple(dict.fromkeys((*dev.outlets, *(c.source for c in carriers))))
        return replace(dev, outlets=names, links=tuple((c.source, c.url) for c in carriers))

    def claim_due(
        self,
        channel: str,
        mode: DeliveryMode,
        now: datetime,
        lease: timedelta,
        limit: int = 100,
        *,
        ignore_schedule: bool = False,
    ) -> list[OutboxItem]:
        """Take the channel's due rows for `lease`; another process will not take them meanwhile,
        unless this process dies: then the next run on this host takes them at once.

        `ignore_schedule` also takes rows whose time has not come (a digest sent by hand).
        """
        token = uuid.uuid4().hex
        with self.db.tx() as conn:
            free = self._free(conn, channel, mode, now)
            due = (
                select(outbox.c.id)
                .where(outbox.c.channel == channel)
                .where(outbox.c.mode == mode)
                .where(outbox.c.status == "pending")
                .where(free)
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
                .where(free)
                .values(claimed_until=now + lease, claim_token=token, claimed_by=this_holder())
            )
            rows = conn.execute(
                select(outbox).where(outbox.c.claim_token == token).order_by(outbox.c.id)
            ).all()
        return [
            OutboxItem(r.id, r.development_id, r.channel, r.mode, r.attempts, token) for r in rows
        ]

    def _free(
        self, conn: Connection, channel: str, mode: DeliveryMode, now: datetime
    ) -> ColumnElement[bool]:
        """Rows nobody holds: never claimed, lease run out, or held by a process that is gone."""
        holders = conn.execute(
            select(outbox.c.claimed_by)
            .distinct()
            .where(outbox.c.channel == channel)
            .where(outbox.c.mode == mode)
            .where(outbox.c.status == "pending")
            .where(outbox.c.claimed_until >= now)
            .where(outbox.c.claimed_by.is_not(None))
        ).scalars()
        gone = [h for h in holders if holder_gone(h)]
        free = or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)
        return or_(free, outbox.c.claimed_by.in_(gone)) if gone else free

    def renew(self, items: Iterable[OutboxItem], until: datetime) -> None:
        """Extend the lease on rows still held (a long delivery keeps what it has not sent)."""
        self._update_claimed(items, claimed_until=until)

    def channel_waiting_until(
        self, channel: str, mode: DeliveryMode, now: datetime
    ) -> datetime | None:
        """When a channel that refused a message may be tried again (None: it is not waiting).

        The whole channel waits, not only the refused row, so later alerts neither overtake
        the refused one nor hammer a service that is down.
        """
        with self.db.read() as conn:
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
        self._update_claimed(
            items,
            status="sent",
            sent_at=now,
            claimed_until=None,
            last_error=None,
            attempts=outbox.c.attempts + 1,
        )

    def mark_failed(
        self, items: Iterable[OutboxItem], now: datetime, error: str, retry_at: datetime
    ) -> None:
        self._update_claimed(
            items,
            attempts=outbox.c.attempts + 1,
            last_error=error[:2000],
            next_attempt_at=retry_at,
            claimed_until=None,
        )

    def release(self, items: Iterable[OutboxItem]) -> None:
        """Give claimed rows back untouched (e.g. a channel skipped after another row failed)."""
        self._update_claimed(items, claimed_until=None, claim_token=None, claimed_by=None)

    def _update_claimed(self, items: Iterable[OutboxItem], **values: Any) -> None:
        """Set `values` on each row of `items` still held under its claim token, in one
        transaction: a row whose lease ran out and was claimed again is left to its new holder."""
        with self.db.tx() as conn:
            for item in items:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == item.id)
                    .where(outbox.c.claim_token == item.claim_token)
                    .values(**values)
                )

    def counts(self) -> dict[tuple[str, str], int]:
        """Rows per (channel, status)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(outbox.c.channel, outbox.c.status, func.count()).group_by(
                    outbox.c.channel, outbox.c.status
                )
            ).all()
        return {(r[0], r[1]): r[2] for r in rows}


def development_from_row(row: Any) -> Development:
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
