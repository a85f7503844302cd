"""The pool pings a connection only after it sat idle, and replaces one the server dropped;
tasks get connections in the order they asked for them."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shopmesh.kit.db import Database, is_transient_db_error
from tests.support import wait_for

pytestmark = pytest.mark.postgres


async def _backend_pid(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _drop_pooled_connection(db: Database, admin: asyncpg.Connection) -> int:
    """Use one pooled connection, then have the server terminate it behind the pool's back."""
    pid = await _backend_pid(db)
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    return pid


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    postgres_url: str, postgres_admin: asyncpg.Connection
) -> None:
    db = Database(postgres_url, pool_size=1, ping_idle_after=0.0)
    try:
        dropped = await _drop_pooled_connection(db, postgres_admin)
        assert await _backend_pid(db) != dropped  # the ping found it dead; a new one answered
    finally:
        await db.close()


async def test_a_recently_used_connection_is_not_pinged(
    postgres_url: str, postgres_admin: asyncpg.Connection
) -> None:
    # No ping within the idle time: the dead connection is only found by the statement,
    # as a transient error (a 503 for a request), and the pool then replaces it.
    db = Database(postgres_url, pool_size=1, ping_idle_after=3600.0)
    try:
        dropped = await _drop_pooled_connection(db, postgres_admin)
        with pytest.raises(DBAPIError) as failure:
            await _backend_pid(db)
        assert is_transient_db_error(failure.value)
        assert await _backend_pid(db) != dropped
    finally:
        await db.close()


async def _rows_seen_elsewhere(db: Database) -> int:
    async with db.engine.connect() as other:
        return int((await other.execute(text("SELECT count(*) FROM probe"))).scalar_one())


@pytest.mark.parametrize("autocommit", [True, False])
async def test_autocommit_commits_each_statement_at_once_on_postgres(
    postgres_url: str, *, autocommit: bool
) -> None:
    db = Database(postgres_url)
    try:
        async with db.connection() as connection:
            await connection.execute(text("CREATE TABLE probe (id int)"))
        async with db.connection(autocommit=autocommit) as connection:
            await connection.execute(text("INSERT INTO probe VALUES (1)"))
            # Autocommit: already committed; otherwise only when the block ends.
            assert await _rows_seen_elsewhere(db) == (1 if autocommit else 0)
        assert await _rows_seen_elsewhere(db) == 1
    finally:
        await db.close()


async def test_a_burst_waits_for_the_pool_instead_of_opening_more_connections(
    postgres_url: str,
) -> None:
    db = Database(postgres_url, pool_size=4)
    backends: set[int] = set()
    four_in = asyncio.Event()

    async def hold() -> None:
        async with db.connection() as connection:
            backends.add(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar()))
            if len(backends) == 4:
                four_in.set()
            await four_in.wait()

    try:
        await asyncio.gather(*(hold() for _ in range(12)))
        # No overflow by default: the other eight waited, then reused the same four
        # connections (overflow ones would be opened and closed again: a backend each).
        assert len(backends) == 4
        assert db.engine.sync_engine.pool.checkedin() == 4  # type: ignore[attr-defined]
    finally:
        await db.close()


async def test_connections_go_to_waiting_tasks_in_arrival_order(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=2, max_overflow=0)
    served: list[str] = []

    async def _served() -> list[str]:
        return list(served)

    async def use(name: str, release: asyncio.Event | None = None, again: int = 0) -> None:
        async with db.connection() as connection:
            served.append(name)
            await connection.execute(text("SELECT 1"))
            if release is not None:
                await release.wait()
        for _ in range(again):  # at once asks again, as a busy task does: no jumping the queue
            await use(f"{name}-again")

    try:
        first, second = asyncio.Event(), asyncio.Event()
        holders = []
        for name, release in (("a", first), ("b", second)):  # one after the other
            holders.append(asyncio.create_task(use(name, release, again=5)))
            await wait_for(_served, until=lambda names, n=name: n in names, what=f"{name} held")
        waiting = []
        for name in ("w1", "w2", "w3", "w4"):
            waiting.append(asyncio.create_task(use(name)))
            await asyncio.sleep(0)  # each one queued before the next asks
        first.set()
        second.set()
        await asyncio.gather(*holders, *waiting)
        # Whoever waited is served before the holders' second turns, whatever the order in
        # which the two connections came back.
        assert served[:2] == ["a", "b"]
        assert sorted(served[2:6]) == ["w1", "w2", "w3", "w4"]
        assert sorted(served[6:]) == ["a-again"] * 5 + ["b-again"] * 5
    finally:
        await db.close()
