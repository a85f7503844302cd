"""Retention deletes what is due, in batches, never what a request holds or still needs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from shopmesh.kit.db import Database
from shopmesh.kit.retention import Retention, RetentionRule
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.tables import outbox_message, processed_event
from tests.kit.sample import MIGRATIONS, sample_app
from tests.support import migrated_database, serve_in_process, wait_for

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OUTBOX = RetentionRule(outbox_message, outbox_message.c.published_at, timedelta(days=1))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(database_url, MIGRATIONS) as database:
        yield database


def outbox_row(*, published_at: datetime | None, created_at: datetime = NOW) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "topic": "notes",
        "key": "k",
        "event_type": "note.written",
        "payload": b"{}",
        "created_at": created_at,
        "published_at": published_at,
    }


async def add(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    async with db.connection() as connection:
        await connection.execute(table.insert(), rows)


async def count(db: Database, table: Any) -> int:
    async with db.connection() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_published_rows_past_their_age_go_in_batches_the_rest_stay(db: Database) -> None:
    old = NOW - timedelta(days=2)
    await add(db, outbox_message, [outbox_row(published_at=old) for _ in range(23)])
    await add(db, outbox_message, [outbox_row(published_at=NOW - timedelta(hours=1))])
    await add(db, outbox_message, [outbox_row(published_at=None, created_at=old)])

    deleted = await Retention(db, [OUTBOX], service="t", batch_size=5, pause=0).prune(NOW)

    assert deleted == {"outbox_message": 23}
    async with db.connection() as connection:
        left = (await connection.execute(select(outbox_message.c.published_at))).all()
    # The one published an hour ago, and the one never published (whatever its age).
    assert sorted(row.published_at is None for row in left) == [False, True]


async def test_a_condition_keeps_rows_that_do_not_meet_it(db: Database) -> None:
    old = NOW - timedelta(days=2)
    await add(db, outbox_message, [outbox_row(published_at=old, created_at=old) for _ in range(3)])
    await add(db, outbox_message, [outbox_row(published_at=old, created_at=NOW)])
    rule = RetentionRule(
        outbox_message, outbox_message.c.published_at, timedelta(days=1),
        only=outbox_message.c.created_at < NOW - timedelta(days=1),
    )  # fmt: skip
    assert await Retention(db, [rule], service="t").prune(NOW) == {"outbox_message": 3}
    assert await count(db, outbox_message) == 1


async def test_a_table_with_a_composite_key_is_pruned_by_its_key(db: Database) -> None:
    rows = [
        {
            "consumer": consumer,
            "event_id": str(uuid.uuid4()),
            "topic": "notes",
            "partition": 0,
            "offset": n,
            "processed_at": NOW - timedelta(days=8 if n % 2 else 1),
        }
        for n in range(10)
        for consumer in ("a", "b")
    ]
    await add(db, processed_event, rows)
    rule = RetentionRule(processed_event, processed_event.c.processed_at, timedelta(days=7))
    retention = Retention(db, [rule], service="t", batch_size=3, pause=0)
    assert await retention.prune(NOW) == {"processed_event": 10}
    assert await count(db, processed_event) == 10


@pytest.mark.postgres
async def test_a_row_a_request_holds_is_skipped_not_waited_for(postgres_url: str) -> None:
    async with migrated_database(postgres_url, MIGRATIONS) as db:
        old = NOW - timedelta(days=2)
        await add(db, outbox_message, [outbox_row(published_at=old) for _ in range(4)])
        retention = Retention(db, [OUTBOX], service="t", batch_size=10, pause=0)
        async with db.connection() as holder:
            held = await holder.execute(
                text("SELECT id FROM outbox_message ORDER BY id LIMIT 1 FOR UPDATE")
            )
            assert held.scalar_one() is not None
            # Returns while the lock is held: the pass does not wait for the request.
            assert await retention.prune(NOW) == {"outbox_message": 3}
        assert await retention.prune(NOW) == {"outbox_message": 1}


async def test_every_service_app_runs_retention_on_the_kit_tables(sqlite_url: str) -> None:
    app: Any = sample_app(
        sqlite_url,
        kafka_enabled=False,
        retention_interval=0.05,
        outbox_retention=timedelta(seconds=0),
    )
    async with serve_in_process(app):
        db: Database = app.runtime.db
        await add(db, outbox_message, [outbox_row(published_at=datetime.now(UTC))])
        await add(db, outbox_message, [outbox_row(published_at=None)])

        async def published_left() -> int:
            async with db.connection() as connection:
                query = select(func.count()).where(outbox_message.c.published_at.is_not(None))
                return int((await connection.execute(query)).scalar_one())

        await wait_for(published_left, until=lambda n: n == 0, what="the published row deleted")
        assert await count(db, outbox_message) == 1


def test_the_defaults_are_the_documented_ones() -> None:
    settings = ServiceSettings()
    assert settings.outbox_retention == timedelta(days=1)
    assert settings.processed_event_retention == timedelta(days=7)
    assert settings.idempotency_retention == timedelta(hours=24)
    assert settings.retention_interval == 60


def test_ages_are_read_as_seconds_or_iso_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMESH_OUTBOX_RETENTION", "5")
    monkeypatch.setenv("SHOPMESH_PROCESSED_EVENT_RETENTION", "P14D")
    monkeypatch.setenv("SHOPMESH_IDEMPOTENCY_RETENTION", "0.5")
    settings = ServiceSettings()
    assert settings.outbox_retention == timedelta(seconds=5)
    assert settings.processed_event_retention == timedelta(days=14)
    assert settings.idempotency_retention == timedelta(milliseconds=500)
    monkeypatch.setenv("SHOPMESH_OUTBOX_RETENTION", "-1")
    with pytest.raises(ValueError, match="SHOPMESH_OUTBOX_RETENTION"):
        ServiceSettings()
