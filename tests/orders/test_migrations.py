"""The schema migration applies and reverses on both databases, and matches the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate
from shopmesh.orders.repository import Base

SCRIPTS = "shopmesh.orders:migrations"
TABLES = {"customer_order", "idempotency_record", "outbox_message", "processed_event"}


def _downgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _drift(connection: Connection) -> list[object]:
    ours = {"customer_order", "idempotency_record"}  # the kit's tables are the kit's business
    opts = {
        "compare_type": True,
        "include_name": lambda name, kind, _parent: kind != "table" or name in ours,
    }
    return list(compare_metadata(MigrationContext.configure(connection, opts=opts), Base.metadata))


async def test_migration_upgrades_downgrades_and_upgrades_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, SCRIPTS)
        async with db.engine.begin() as connection:
            assert await connection.run_sync(_tables) >= TABLES
            await connection.run_sync(_downgrade)
            assert not (await connection.run_sync(_tables)) & TABLES
        await migrate(db, SCRIPTS)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) >= TABLES
    finally:
        await db.close()


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, SCRIPTS)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_drift) == []
    finally:
        await db.close()
