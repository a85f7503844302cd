"""The schema migration applies and reverses on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from shopmesh.dispatcher.repository import Base
from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate

SCRIPTS = "shopmesh.dispatcher:migrations"
OWN_TABLES = {"shipment", "webhook_delivery"}
TABLES = {*OWN_TABLES, "outbox_message", "processed_event"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


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


def _own_table(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # The kit's tables are not in the dispatcher's metadata; only our own tables count.
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is not None and table.name in OWN_TABLES


def _drift(connection: Connection) -> list[Any]:
    options = {"compare_type": True, "include_object": _own_table}
    return list(
        compare_metadata(MigrationContext.configure(connection, opts=options), Base.metadata)
    )


async def test_the_migrated_schema_matches_the_tables_in_code(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, SCRIPTS)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_drift) == []
    finally:
        await db.close()
