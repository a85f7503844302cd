"""A starting service waits for a database that is not there yet (containers start in any order)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate
from tests.conftest import ADMIN_URL
from tests.kit.sample import MIGRATIONS
from tests.support import wait_for

pytestmark = pytest.mark.postgres


def _url(name: str) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def test_migrate_waits_until_the_database_exists(
    postgres_admin: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"test_{uuid.uuid4().hex[:16]}"
    db = Database(_url(name))
    caplog.set_level(logging.WARNING, logger="shopmesh.kit.migrations")
    try:
        migrating = asyncio.create_task(migrate(db, MIGRATIONS, wait=60))

        async def refused() -> bool:
            return any("not reachable yet" in r.getMessage() for r in caplog.records)

        await wait_for(refused, what="a refused first attempt")
        assert not migrating.done()
        await postgres_admin.execute(f'CREATE DATABASE "{name}"')
        await asyncio.wait_for(migrating, timeout=30)
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert "outbox_message" in tables
    finally:
        await db.close()
        await postgres_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_without_a_wait_a_missing_database_fails_at_once() -> None:
    db = Database(_url(f"test_missing_{uuid.uuid4().hex[:8]}"))
    try:
        with pytest.raises(DBAPIError):
            await migrate(db, MIGRATIONS)
    finally:
        await db.close()
