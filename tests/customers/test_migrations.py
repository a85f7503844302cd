"""The migration builds exactly the table the code maps, and can be undone, on both databases."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from shopmesh.customers.repository import Base
from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate

MIGRATIONS = "shopmesh.customers:migrations"
TABLES = {"customer", "outbox_message", "processed_event"}


def _schema_drift(connection: Connection) -> list[Any]:
    def ours(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in Base.metadata.tables

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": ours}
    )
    return list(compare_metadata(context, Base.metadata))


def _downgrade_to_base(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_migration_matches_the_models_and_reverses(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, MIGRATIONS)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_schema_drift) == []
            assert await connection.run_sync(_tables) == TABLES
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await migrate(db, MIGRATIONS)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES
    finally:
        await db.close()
