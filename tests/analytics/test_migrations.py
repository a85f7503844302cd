"""The schema migration goes both ways on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect

from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate

pytestmark = pytest.mark.postgres
MIGRATIONS = "shopmesh.analytics:migrations"
TABLES = {"stats", "user_stats", "processed_event", "outbox_message"}


def _downgrade_to_base(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def test_migration_upgrades_downgrades_and_upgrades_again(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        await migrate(db, MIGRATIONS)
        assert await _tables(db) == TABLES

        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        assert await _tables(db) == set()

        await migrate(db, MIGRATIONS)
        assert await _tables(db) == TABLES
    finally:
        await db.close()
