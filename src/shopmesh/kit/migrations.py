"""Alembic migrations per service, run at start-up.

Each service keeps ``migrations/`` (env.py calling :func:`run_env`, and
``versions/``) next to its code; :func:`migrate` upgrades its database to
head on the service's own engine. On PostgreSQL an advisory lock stops two
instances starting together from migrating at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from typing import Protocol

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Index, MetaData, text
from sqlalchemy.exc import DBAPIError

from shopmesh.kit.aio import describe
from shopmesh.kit.db import Database
from shopmesh.kit.tables import RETENTION_INDEXES, kit_metadata

log = logging.getLogger(__name__)


async def migrate(db: Database, script_location: str, *, wait: float = 0.0) -> None:
    """Upgrade ``db`` to the newest revision found at ``script_location`` (``pkg:dir``).

    ``wait``: for so many seconds, a database that cannot be reached yet (still starting,
    or its database not created yet) is tried again every second: containers and pods
    start in no guaranteed order.
    """
    await _wait_until_reachable(db, wait)
    async with db.engine.begin() as connection:
        if not db.is_sqlite:
            lock_id = zlib.crc32(script_location.encode())
            await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
        await connection.run_sync(_upgrade, script_location)


async def _wait_until_reachable(db: Database, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except (OSError, DBAPIError) as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("database not reachable yet, trying again: %s", describe(exc))
            await asyncio.sleep(1.0)


def _upgrade(connection: Connection, script_location: str) -> None:
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def run_env(target_metadata: MetaData | None = None) -> None:
    """The body of every service's ``migrations/env.py``: migrate on the given connection."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through shopmesh.kit.migrations.migrate()")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


class MigrationOps(Protocol):
    """What the kit needs of a migration's ``op``: the ``alembic.op`` module or an Operations."""

    def get_bind(self) -> Connection: ...


def create_kit_tables(op: MigrationOps) -> None:
    """Create the outbox and processed-event tables (call from a service's first migration)."""
    kit_metadata.create_all(op.get_bind())


def drop_kit_tables(op: MigrationOps) -> None:
    kit_metadata.drop_all(op.get_bind())


def _retention_indexes() -> list[Index]:
    return [
        index
        for table in kit_metadata.tables.values()
        for index in table.indexes
        if index.name in RETENTION_INDEXES
    ]


def create_retention_indexes(op: MigrationOps) -> None:
    """Add the kit tables' retention indexes to a database migrated before they existed
    (a new database has them already: :func:`create_kit_tables` makes today's tables)."""
    for index in _retention_indexes():
        index.create(op.get_bind(), checkfirst=True)


def drop_retention_indexes(op: MigrationOps) -> None:
    for index in _retention_indexes():
        index.drop(op.get_bind(), checkfirst=True)
