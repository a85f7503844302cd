"""The schema migration applies and reverses on both databases."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect

from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate

SCRIPTS = "shopmesh.payments:migrations"
TABLES = {"payment_transaction", "account", "idempotency_record", "outbox_message"}


def _downgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


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
