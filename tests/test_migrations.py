"""Every service's migrations apply, reverse, re-apply, and leave the schema its models declare.

One test for all services: each keeps ``migrations/`` next to its code and
its ORM ``Base`` in ``repository``; the kit's own tables (outbox,
processed events) are the kit's business and are not compared here.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect

from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate
from shopmesh.launcher import SERVICES

SERVICES_WITH_A_DATABASE = [spec.name for spec in SERVICES if spec.database]


def _models(service: str) -> MetaData:
    metadata: MetaData = importlib.import_module(f"shopmesh.{service}.repository").Base.metadata
    return metadata


def _downgrade(connection: Connection, scripts: str) -> None:
    config = Config()
    config.set_main_option("script_location", scripts)
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _drift(connection: Connection, models: MetaData) -> list[Any]:
    def ours(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
        if kind == "schema":
            return True
        table = name if kind == "table" else parents.get("table_name")
        return table in models.tables

    options = {"compare_type": True, "include_name": ours}
    return list(compare_metadata(MigrationContext.configure(connection, opts=options), models))


@pytest.mark.parametrize("service", SERVICES_WITH_A_DATABASE)
async def test_migrations_apply_reverse_and_match_the_models(
    service: str, database_url: str
) -> None:
    scripts, models = f"shopmesh.{service}:migrations", _models(service)
    tables = set(models.tables) | {"outbox_message", "processed_event"}
    db = Database(database_url)
    try:
        await migrate(db, scripts)
        async with db.engine.begin() as connection:
            assert await connection.run_sync(_tables) == tables | {"alembic_version"}
            assert await connection.run_sync(_drift, models) == []
            await connection.run_sync(_downgrade, scripts)
            assert not (await connection.run_sync(_tables)) & tables
        await migrate(db, scripts)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_drift, models) == []
    finally:
        await db.close()
