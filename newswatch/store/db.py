"""The store's database: opening and migrating it, and the one way in (`tx` / `read`).

Every access goes through :meth:`Database.tx` (a write transaction) or :meth:`Database.read` (a
read that never queues behind writers), and both translate every database error into a
StoreError naming the store, so a locked or failing database fails the source that met it,
never the whole run with a raw SQLAlchemy traceback.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, event, inspect
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.compiler import SQLCompiler

from newswatch.errors import StoreError
from newswatch.store.schema import metadata

MIGRATIONS = str(Path(__file__).with_name("migrations"))
_READ_ONLY = "newswatch_read_only"  # execution option: begin a deferred (read) transaction


class Database:
    """An engine, and the two ways to use it."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.name = safe_url(url)

    @classmethod
    def open(cls, url: str) -> Database:
        """Connect (creating a SQLite file's folder) and bring the schema to the newest version."""
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (
                None,
                "",
                ":memory:",
            ):
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # A dropped server connection is found before use; a SQLite file has none to drop.
            pre_ping = not url.startswith("sqlite")
            engine = create_engine(url, future=True, pool_pre_ping=pre_ping)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
                event.listen(engine, "begin", _sqlite_begin)
            db = cls(engine, url)
            db.migrate()
            return db
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open store {safe_url(url)}: {exc}") from exc

    def migrate(self) -> None:
        """Create a new store at the newest schema, or bring an existing one up to it.

        A store already at the newest revision (every run but the first after an upgrade) is
        recognised by one read of its version table, without loading alembic at all.
        """
        if self.at_head():
            return
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

    def at_head(self) -> bool:
        """True when the store's alembic version is the newest revision of `MIGRATIONS`."""
        try:
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except SQLAlchemyError:
            return False  # a new store, or one from before versioning: let alembic decide
        return [r[0] for r in rows] == [head_revision()]

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction; on SQLite it takes the write lock up front."""
        with self._translated("write"), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction; on SQLite it does not take the write lock (WAL readers don't)."""
        with (
            self._translated("read"),
            self.engine.connect().execution_options(**{_READ_ONLY: True}) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(
                f"store {self.name}: {what} failed: {exc.__class__.__name__}: {_first_line(exc)}"
            ) from exc


_REVISION = re.compile(r"^(down_)?revision\s*=\s*['\"]([^'\"]*)['\"]", re.M)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The one revision no other migration revises (read from the scripts, as alembic would)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in Path(MIGRATIONS, "versions").glob("*.py"):
        for down, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            (revised if down else revisions).add(value)
    heads = revisions - revised
    if len(heads) != 1:
        raise StoreError(f"the store migrations in {MIGRATIONS} have {len(heads)} heads: {heads}")
    return heads.pop()


def insert_ignore(
    conn: Connection, table: Any, values: dict[str, Any] | list[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns the number of rows inserted.

    Counted through RETURNING: drivers do not agree on `rowcount` for this statement
    (psycopg may report -1), and "was it inserted?" is what makes a re-run harmless.
    """
    if not values:
        return 0
    # Rows are passed as parameters (one statement, executemany for a list), never inlined
    # into the statement: an inlined VALUES list is compiled afresh for every call.
    return len(conn.execute(_insert_ignore(conn.dialect.name, table), values).all())


@lru_cache(maxsize=256)
def _insert_ignore(dialect_name: str, table: Any) -> Any:
    # The dialect's own INSERT, imported here: the PostgreSQL package (with every driver's
    # module) costs a SQLite run about 0.1 s of start-up otherwise.
    key = next(iter(table.primary_key.columns))
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing().returning(key)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing().returning(key)


def insert_many(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    shared: dict[str, Any],
) -> None:
    """INSERT … ON CONFLICT DO NOTHING of many rows (values for `columns`, in that order) that
    also share the values in `shared`, through the driver's executemany.

    The statement is compiled once and every value converted by its column's type, the shared
    ones once for all rows: SQLAlchemy's own executemany converts each value of each row through
    several layers, which for 100,000 links took most of a baseline's time.
    """
    if not rows:
        return
    dialect = conn.dialect
    names = (*columns, *shared)
    compiled = _insert_many(dialect, table, names)
    convert = [_converter(table.c[name].type, dialect) for name in columns]
    fixed = tuple(_converter(table.c[k].type, dialect)(v) for k, v in shared.items())
    values = [tuple(f(v) for f, v in zip(convert, row, strict=True)) + fixed for row in rows]
    if compiled.positional:  # qmark (SQLite): in the order the statement names its columns
        pick = operator.itemgetter(*(names.index(n) for n in compiled.positiontup or ()))
        conn.exec_driver_sql(compiled.string, [pick(v) for v in values])
    else:
        conn.exec_driver_sql(compiled.string, [dict(zip(names, v, strict=True)) for v in values])


@lru_cache(maxsize=64)
def _insert_many(dialect: Dialect, table: Table, names: tuple[str, ...]) -> SQLCompiler:
    values: dict[str, Any] = {name: bindparam(name) for name in names}
    if dialect.name == "postgresql":  # imported here, as in _insert_ignore
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        compiled = pg_insert(table).values(values).on_conflict_do_nothing().compile(dialect=dialect)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        compiled = (
            sqlite_insert(table).values(values).on_conflict_do_nothing().compile(dialect=dialect)
        )
    return compiled


def _converter(column_type: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """How SQLAlchemy would turn a value into what the driver gets, for this column type."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


def _same(value: Any) -> Any:
    return value


def safe_url(url: str) -> str:
    """The store URL as it may be shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable store URL>"


def _first_line(exc: SQLAlchemyError) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:300] if text else ""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    # In WAL mode NORMAL never corrupts the database and keeps commits in order; a power cut
    # (not a crash of newswatch) may undo the last few, which the next cycle simply redoes
    # (validators are stored after what they led to, so nothing is skipped; at worst an alert
    # whose "sent" mark was undone goes out again). It saves an fsync per transaction.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")  # concurrent cycles wait instead of failing
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # A write takes the lock up front (IMMEDIATE): a read-then-write transaction (claiming
    # outbox rows, recording a development) cannot fail half-way with SQLITE_BUSY when two
    # cycles run. A read begins DEFERRED and, in WAL mode, never waits for a writer.
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
