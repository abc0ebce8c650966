"""Engines, held connections and the unit of work.

The edge (a CLI command, an HTTP request, a job) owns the transaction: it
opens a ``Tx`` with ``Database.transaction()`` or ``Handle.transaction()`` and
the block commits or rolls back. Services only execute statements on it.

Transactions are begun and ended with plain SQL on a driver connection in
autocommit mode. That costs a few microseconds instead of SQLAlchemy's
tens, which matters on the guarded-read path, and it lets SQLite take its
write lock at ``BEGIN IMMEDIATE`` so that two writers never meet halfway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from mamori.errors import ConfigError, StorageError


def _sqlite_on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Zero freed cells where it costs no extra I/O: erased values leave fewer traces.
    cursor.execute("PRAGMA secure_delete=FAST")
    cursor.close()


def _sqlite_opener(path: str, create_missing: bool) -> Callable[[], sqlite3.Connection]:
    """Open the file by URI with mode=rw: a file gone missing is an error, never a new
    empty database. The path is quoted so "#", "%" or "?" in it stay part of it."""
    mode = "rwc" if create_missing else "rw"
    uri = f"file:{quote(str(Path(path).absolute()))}?mode={mode}"

    def opener() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return opener


def make_engine(url: str, *, create_missing: bool = False) -> Engine:
    """An engine for ``url``; a SQLite file must exist unless ``create_missing``."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:" and not create_missing and not Path(path).exists():
            raise ConfigError(
                f"there is no Mamori database at {path}: run 'mamori init' first",
                code="database_missing",
            )
        if path and path != ":memory:":
            engine = create_engine(url, creator=_sqlite_opener(path, create_missing))
        else:
            engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return create_engine(url, pool_pre_ping=True, isolation_level="AUTOCOMMIT")


@cache
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Tx:
    """One unit of work: a transaction on a held connection.

    ``execute`` runs raw SQL written with ``?`` placeholders on either
    database; ``core`` runs SQLAlchemy Core statements in the same
    transaction. ``after_commit`` callbacks run once the commit succeeded.
    """

    __slots__ = ("_cursor", "after_commit", "audit_tip", "core", "is_pg", "raw")

    def __init__(self, conn: Connection, raw: Any, cursor: Any, *, is_pg: bool) -> None:
        self.core = conn
        self.is_pg = is_pg
        self.raw = raw
        self._cursor = cursor
        self.after_commit: list[Callable[[], None]] = []
        self.audit_tip: tuple[int, bytes] | None = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.is_pg:
            sql = _pg_sql(sql)
        self._cursor.execute(sql, params)
        return self._cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.is_pg:
            sql = _pg_sql(sql)
        self._cursor.executemany(sql, rows)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.execute(sql, params).fetchall())


class Handle:
    """A connection held by one worker for many short transactions."""

    def close(self) -> None:
        self.conn.close()

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_pg = conn.dialect.name == "postgresql"
        self._begin = "BEGIN" if self.is_pg else "BEGIN IMMEDIATE"
        driver = conn.connection.driver_connection
        assert driver is not None
        self._raw: Any = driver
        self._cursor = driver.cursor()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        tx = Tx(self.conn, self._raw, self._cursor, is_pg=self.is_pg)
        try:
            tx.raw.execute(self._begin)
        except (sqlite3.Error, SQLAlchemyError, OSError) as exc:
            raise StorageError("the database could not start a transaction") from exc
        try:
            yield tx
        except BaseException as exc:
            tx.raw.rollback()
            keep = getattr(exc, "keep", None)
            if keep:
                self._keep(keep)
            raise
        self._commit(tx)

    def _keep(self, records: list[Callable[[Tx], None]]) -> None:
        """A failed unit of work rolls back whole; only what the error keeps is written."""
        tx = Tx(self.conn, self._raw, self._cursor, is_pg=self.is_pg)
        tx.raw.execute(self._begin)
        try:
            for record in records:
                record(tx)
        except BaseException:
            tx.raw.rollback()
            raise
        self._commit(tx)

    @staticmethod
    def _commit(tx: Tx) -> None:
        try:
            tx.raw.commit()
        except (sqlite3.Error, SQLAlchemyError, OSError) as exc:
            raise StorageError("the database refused to commit") from exc
        for callback in tx.after_commit:
            callback()


class Database:
    """The registry's database: an engine and the way to open work on it."""

    def __init__(self, url: str, *, create_missing: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, create_missing=create_missing)
        self.is_pg = self.engine.dialect.name == "postgresql"

    @contextmanager
    def connect(self) -> Iterator[Handle]:
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except OperationalError as exc:
            raise StorageError(
                "the database is not reachable; check MAMORI_DATABASE_URL and that it is running",
                code="database_unreachable",
            ) from exc
        with conn:
            yield Handle(conn)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.connect() as handle, handle.transaction() as tx:
            yield tx

    def open_handle(self) -> Handle:
        """A connection held until ``Handle.close``: for pools of long-lived workers."""
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except OperationalError as exc:
            raise StorageError(
                "the database is not reachable", code="database_unreachable"
            ) from exc
        return Handle(conn)

    def has_table(self, name: str) -> bool:
        with self.engine.connect() as conn:
            return inspect(conn).has_table(name)

    def dispose(self) -> None:
        self.engine.dispose()
