"""What every part of the store shares: the engine, one transaction per call, INSERT-or-ignore."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from newswatch.errors import StoreError


class StoreBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store error: {exc.__class__.__name__}: {exc}") from exc


def insert_ignore(
    conn: Connection, table: Any, values: dict[str, Any] | list[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns the number of rows inserted.

    Counted through RETURNING: drivers do not agree on `rowcount` for this statement
    (psycopg may report -1), and "was it inserted?" is what makes a re-run harmless.
    """
    if not values:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    stmt = dialect.insert(table).values(values).on_conflict_do_nothing().returning(key)
    return len(conn.execute(stmt).all())
