"""Per-host request slots shared by every process and worker using one store.

One row per host holds the start of the latest request slot any process reserved (seconds since
the epoch by the database's clock on PostgreSQL, so machines' clocks need not agree). Reserving
the next slot is one UPDATE … RETURNING in one short transaction: PostgreSQL's row lock (and on
SQLite, BEGIN IMMEDIATE) serialises two claims for one host, and each sees the other's slot.

A slot is a timestamp, not a lock held by a process: nothing is released after the request, so
a process killed at any point holds up that host for at most the one gap it reserved.

A claim happens before every paced request, so its commit does not wait for the disk
(PostgreSQL: synchronous_commit off for that transaction; SQLite: a connection of its own with
synchronous=NORMAL). A slot lost to a power failure only lets one request go early once.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, create_engine, event, text

from newswatch.store.db import Database, _sqlite_begin, _sqlite_pragmas, insert_ignore
from newswatch.store.schema import host_pacing

_CLAIM_PG = text(
    "WITH t AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now) "
    "UPDATE host_pacing SET last_at = GREATEST(t.now + :earliest, host_pacing.last_at + :gap) "
    "FROM t WHERE host_pacing.host = :host "
    "RETURNING host_pacing.last_at - t.now"
)
# No wait for the disk at commit; and should the client's machine vanish between UPDATE and
# COMMIT (its connection half-open), the server ends the session and frees the row in seconds.
_TX_SETTINGS_PG = (
    "SET LOCAL synchronous_commit TO OFF; SET LOCAL idle_in_transaction_session_timeout = '3s'"
)
# SQLite is one machine's file: this machine's clock is every sharer's clock.
_CLAIM_SQLITE = text(
    "UPDATE host_pacing SET last_at = MAX(:now + :earliest, last_at + :gap) "
    "WHERE host = :host RETURNING last_at - :now"
)


class HostPacing:
    """The store's side of `newswatch.fetch.SharedPacing`."""

    def __init__(self, db: Database) -> None:
        self._postgres = db.engine.dialect.name == "postgresql"
        self._own = None if self._postgres else _unsynced_sqlite(db)
        self.db = self._own or db

    def close(self) -> None:
        if self._own is not None:
            self._own.close()

    def claim(self, host: str, gap: float, earliest: float) -> float:
        """Reserve a slot for `host` >= `earliest` s from now and >= `gap` s after the last one
        reserved; return the seconds until it starts (0 when it starts now).
        """
        params = {"host": host[:255], "gap": float(gap), "earliest": float(earliest)}
        with self.db.tx() as conn:
            if self._postgres:
                conn.exec_driver_sql(_TX_SETTINGS_PG)
            wait = self._claim(conn, params)
            if wait is None:  # the host's first request through this store
                insert_ignore(conn, host_pacing, {"host": params["host"], "last_at": 0.0})
                wait = self._claim(conn, params)
        return max(0.0, wait or 0.0)

    def _claim(self, conn: Connection, params: dict[str, object]) -> float | None:
        if self._postgres:
            row = conn.execute(_CLAIM_PG, params).first()
        else:
            row = conn.execute(_CLAIM_SQLITE, {**params, "now": time.time()}).first()
        return None if row is None else float(row[0])


def _unsynced_sqlite(db: Database) -> Database | None:
    """The same SQLite file through connections whose commits skip the fsync (WAL stays)."""
    url = db.engine.url
    if url.database in (None, "", ":memory:"):
        return None  # a private in-memory store: another connection would see another database
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "connect", _normal_sync)
    event.listen(engine, "begin", _sqlite_begin)
    return Database(engine, db.name)


def _normal_sync(dbapi_conn: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_conn, record)
    dbapi_conn.execute("PRAGMA synchronous=NORMAL")
