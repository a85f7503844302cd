"""Async SQLAlchemy engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    TypeDecorator,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)
from sqlalchemy.sql import Executable

# One naming convention for constraints, so migrations name them predictably.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both dialects (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def insert_for(on: AsyncConnection | str, table: Any) -> Any:
    """An INSERT for the dialect of ``on`` (a connection, or a dialect name), so it supports
    ``ON CONFLICT`` (``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
    name = on.dialect.name if isinstance(on, AsyncConnection) else on
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


async def execute_alone(
    connection: AsyncConnection, statement: Executable, params: Params = None
) -> Result[Any]:
    """Run ``statement`` so that it commits by itself when ``connection`` has no transaction
    yet (PostgreSQL autocommit: no BEGIN and COMMIT round trips); in the transaction otherwise.

    Only for a statement that is right on its own whatever follows it (it writes all its
    change needs, events included). A statement after it begins a transaction as usual.
    On SQLite it is an ordinary statement.
    """
    if connection.in_transaction() or connection.dialect.name != "postgresql":
        return await connection.execute(statement, params)
    result: Result[Any] = await connection.run_sync(_execute_in_autocommit, statement, params)
    return result


def _execute_in_autocommit(
    connection: Connection, statement: Executable, params: Params
) -> Result[Any]:
    # One trip into SQLAlchemy's sync layer for the four steps, not one each.
    level = connection.default_isolation_level
    connection.execution_options(isolation_level="AUTOCOMMIT")
    try:
        result = connection.execute(statement, params)  # asyncpg's rows: already fetched
        connection.commit()  # ends SQLAlchemy's own record of it: no round trip
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.execution_options(isolation_level=level)
    return result


def rowcount(result: Any) -> int:
    """The rows an UPDATE, DELETE or INSERT matched (``execute`` is typed as a plain Result)."""
    return int(cast(CursorResult[Any], result).rowcount)


def new_metadata() -> MetaData:
    """A fresh MetaData with the platform's naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# A pooled connection idle longer than this is pinged before use (a restarted server
# left it dead); one in use moments ago is not: under load, every checkout would pay it.
PING_IDLE_AFTER = 1.0
# Seconds a task waits for a pooled connection before it fails (SQLAlchemy's default).
POOL_TIMEOUT = 30.0


def create_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 0,
    ping_idle_after: float = PING_IDLE_AFTER,
) -> AsyncEngine:
    """An engine tuned for the backend.

    SQLite: WAL, a busy timeout, and every transaction ``BEGIN IMMEDIATE`` so
    writers queue on the database lock instead of failing with "database is
    locked" when two read-then-write transactions meet.

    PostgreSQL: up to ``pool_size`` connections, opened as they are first needed and kept,
    plus ``max_overflow`` (default none) opened when they are all busy and closed again
    when returned: under a steady load above the pool size that is a new connection (a
    PostgreSQL backend, authentication, the driver's set-up) every few requests, which
    cost the orders flow a third of PostgreSQL's CPU. A connection idle in the pool for
    ``ping_idle_after`` seconds is pinged before use (see :func:`_ping_idle_connections`).
    """
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _make_sqlite_transactions_immediate(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
    )
    _ping_idle_connections(engine, after=ping_idle_after)
    return engine


def _ping_idle_connections(engine: AsyncEngine, *, after: float) -> None:
    """Pessimistic disconnect handling, only for connections that sat idle.

    ``pool_pre_ping`` pings on every checkout, and asyncpg's ping is three round
    trips (BEGIN, ``;``, ROLLBACK): more than many of our transactions' own
    statements. A dead connection found here is replaced by the pool; one that
    died while busy fails its statement, which invalidates the whole pool.
    """
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < after:
            return  # new, or in use moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("pooled connection is gone") from exc


def _make_sqlite_transactions_immediate(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """A service's engine and its pool, shared in arrival order; opened in its lifespan."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        max_overflow: int = 0,
        ping_idle_after: float = PING_IDLE_AFTER,
    ) -> None:
        self.url = url
        self._is_sqlite = is_sqlite(url)
        self.engine = create_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, ping_idle_after=ping_idle_after
        )
        # The pool's own queue lets a newcomer take a connection that was just returned
        # ahead of the tasks already waiting, and a task passed over goes to the back:
        # under load some requests wait many turns. Tasks queue here instead, first come
        # first served (asyncio's Semaphore is fair), and only as many as the pool holds
        # go on to it.
        self._turns = None if self._is_sqlite else asyncio.Semaphore(pool_size + max_overflow)

    @property
    def is_sqlite(self) -> bool:
        return self._is_sqlite

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Wait for a pooled connection in arrival order (see ``_turns``); like the pool,
        give up after ``POOL_TIMEOUT`` seconds (a ``TimeoutError``)."""
        if self._turns is None:
            yield
            return
        async with asyncio.timeout(POOL_TIMEOUT):
            await self._turns.acquire()
        try:
            yield
        finally:
            self._turns.release()

    @asynccontextmanager
    async def connection(self, *, autocommit: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, for SQLAlchemy Core statements (no ORM session).

        Committed on success, rolled back on error; cheaper per statement than a session.
        With ``autocommit`` on PostgreSQL, each statement commits by itself: for a use case
        that is one statement (atomic on its own), it saves the BEGIN and COMMIT round
        trips. On SQLite ``autocommit`` is ignored: a transaction as usual.
        """
        if not autocommit or self.is_sqlite:
            async with self._turn(), self.engine.begin() as connection:
                yield connection
            return
        async with self._turn(), self.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    @asynccontextmanager
    async def checkout(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection without a transaction yet: its first statement begins one
        (SQLAlchemy's autobegin). Whoever holds it commits; what is left is rolled back."""
        async with self._turn(), self.engine.connect() as connection:
            yield connection

    async def ping(self) -> None:
        """Raise if the database cannot answer ``SELECT 1``."""
        async with self.connection(autocommit=True) as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


# SQLSTATEs that say the server, not the statement, failed: connection exceptions (class 08),
# the server shutting down or starting (57P01-57P03), too many connections (53300).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_transient_db_error(exc: BaseException) -> bool:
    """True when the database, not the statement, is the problem (down, restarting, gone).

    A restart shows up in many shapes: connection refused or reset (``OSError``),
    ``AdminShutdownError`` ("terminating connection due to administrator command")
    or ``CannotConnectNowError`` wrapped in a plain ``DBAPIError``, a closed connection.
    """
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES:
        return True
    cause = exc.orig.__cause__ if exc.orig is not None else None
    return isinstance(cause, OSError)
