"""Pooled PostgreSQL connections: a dead idle one is replaced, a busy pool is not pinged."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shopmesh.kit.db import Database, is_transient_db_error

pytestmark = pytest.mark.postgres


async def backend_pid(db: Database) -> int:
    async with db.transaction() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(admin: asyncpg.Connection, pid: int) -> None:
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)


async def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(
    postgres_url: str, postgres_admin: asyncpg.Connection
) -> None:
    db = Database(postgres_url, pool_size=1, ping_idle_after=0.0)
    try:
        first = await backend_pid(db)
        await terminate(postgres_admin, first)  # as a server restart would

        second = await backend_pid(db)

        assert second != first
    finally:
        await db.close()


async def test_a_connection_in_use_moments_ago_is_not_pinged(
    postgres_url: str, postgres_admin: asyncpg.Connection
) -> None:
    db = Database(postgres_url, pool_size=1, ping_idle_after=3600.0)
    try:
        first = await backend_pid(db)
        await terminate(postgres_admin, first)

        # Not pinged, so the statement meets the dead connection: a transient error (a 503) ...
        with pytest.raises(DBAPIError) as caught:
            await backend_pid(db)
        assert is_transient_db_error(caught.value)
        # ... after which the pool is fresh again.
        assert await backend_pid(db) != first
    finally:
        await db.close()
