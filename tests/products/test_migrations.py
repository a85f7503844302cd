"""The schema migration applies and reverses on both databases, and matches the ORM tables."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate
from shopmesh.products.repository import Base

SCRIPTS = "shopmesh.products:migrations"
TABLES = {"product", "stock_reservation", "outbox_message", "processed_event"}


def _downgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _ours(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
    # The kit's tables have their own MetaData; only products' own tables are compared.
    if kind == "schema":
        return True
    table = name if kind == "table" else parents.get("table_name")
    return table in Base.metadata.tables


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _ours}
    )
    return list(compare_metadata(context, Base.metadata))


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


async def test_migrated_schema_matches_the_orm_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, SCRIPTS)
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
        assert differences == []
    finally:
        await db.close()
