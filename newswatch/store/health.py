"""Source health in the store: a source's record, its alarm, and the health notices' outbox.

Raising an alarm (or announcing a recovery) and enqueueing its notices is one transaction that
only the first process to see the change wins; each notice is then claimed, sent and marked one
by one, retried with backoff while its channel refuses.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update

from newswatch.models import HealthChange, HealthNotice, SourceHealth
from newswatch.store.db import Database, insert_ignore
from newswatch.store.schema import health_notices, source_state


class Health:
    """Source records, alarms and the health-notice outbox."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def states(self, names: Sequence[str] | None = None) -> list[SourceHealth]:
        """The recorded state of these sources (all recorded ones when None), by name."""
        query = select(source_state).order_by(source_state.c.name)
        if names is not None:
            query = query.where(source_state.c.name.in_(list(names)))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [_state(r) for r in rows]

    def apply(self, change: HealthChange, channels: Sequence[str], now: datetime) -> bool:
        """Raise or clear the source's alarm and enqueue a notice per health channel.

        False when another process got there first (the alarm was already raised or cleared).
        """
        with self.db.tx() as conn:
            where = source_state.c.name == change.source
            guard: ColumnElement[bool]
            episode: datetime | None
            if change.kind == "alarm":
                guard = source_state.c.alarm.is_(None)
                values: dict[str, Any] = {"alarm": change.alarm, "alarm_at": now}
                episode = now
            else:
                guard = source_state.c.alarm == change.alarm
                values = {"alarm": None, "alarm_at": None}
                episode = conn.execute(select(source_state.c.alarm_at).where(where)).scalar()
            done = conn.execute(update(source_state).where(where).where(guard).values(values))
            if done.rowcount != 1 or episode is None:
                return False
            rows = [
                {
                    "source": change.source,
                    "channel": channel,
                    "kind": change.kind,
                    "episode": episode,
                    "title": change.title,
                    "body": change.body,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
                for channel in channels
            ]
            insert_ignore(conn, health_notices, rows)
        return True

    def claim_due(self, channel: str, now: datetime, lease: timedelta) -> list[HealthNotice]:
        """Take the channel's due notices for `lease`, oldest first."""
        token = uuid.uuid4().hex
        free = or_(health_notices.c.claimed_until.is_(None), health_notices.c.claimed_until < now)
        with self.db.tx() as conn:
            ids = conn.execute(
                select(health_notices.c.id)
                .where(health_notices.c.channel == channel)
                .where(health_notices.c.status == "pending")
                .where(health_notices.c.next_attempt_at <= now)
                .where(free)
                .order_by(health_notices.c.id)
            ).scalars()
            conn.execute(
                update(health_notices)
                .where(health_notices.c.id.in_(list(ids)))
                .where(free)
                .values(claimed_until=now + lease, claim_token=token)
            )
            rows = conn.execute(
                select(health_notices)
                .where(health_notices.c.claim_token == token)
                .order_by(health_notices.c.id)
            ).all()
        return [
            HealthNotice(r.id, r.source, r.channel, r.title, r.body, r.attempts, token)
            for r in rows
        ]

    def mark_sent(self, notice: HealthNotice, now: datetime) -> None:
        self._update(notice, status="sent", sent_at=now, claimed_until=None, last_error=None)

    def mark_failed(self, notices: Sequence[HealthNotice], error: str, retry_at: datetime) -> None:
        for notice in notices:
            self._update(
                notice,
                attempts=health_notices.c.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=retry_at,
                claimed_until=None,
            )

    def _update(self, notice: HealthNotice, **values: Any) -> None:
        with self.db.tx() as conn:
            conn.execute(
                update(health_notices)
                .where(health_notices.c.id == notice.id)
                .where(health_notices.c.claim_token == notice.claim_token)
                .values(**values)
            )

    def waiting(self) -> list[tuple[str, int, datetime, str | None]]:
        """Channels with health notices waiting after a refusal: (channel, count, next try,
        last error)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    health_notices.c.channel,
                    func.count(),
                    func.max(health_notices.c.next_attempt_at),
                    func.max(health_notices.c.last_error),
                )
                .where(health_notices.c.status == "pending")
                .where(health_notices.c.attempts > 0)
                .group_by(health_notices.c.channel)
            ).all()
        return [(r[0], int(r[1]), r[2], r[3]) for r in rows]


def _state(row: Any) -> SourceHealth:
    return SourceHealth(
        name=row.name,
        baselined_at=row.baselined_at,
        last_run_at=row.last_run_at,
        last_ok_at=row.last_ok_at,
        last_error=row.last_error,
        failures=int(row.consecutive_failures or 0),
        last_new_at=row.last_new_at,
        last_development_at=row.last_development_at,
        alarm=row.alarm,
        alarm_at=row.alarm_at,
    )
