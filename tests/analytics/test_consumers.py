"""The handlers on SQLite: each event folded into the totals inside one transaction (no Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import delete, text

from shopmesh.analytics.consumers import HANDLERS, on_transactions
from shopmesh.analytics.domain import EMPTY_STATS
from shopmesh.analytics.repository import AnalyticsUnitOfWork, stats
from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate
from tests.analytics.factories import T0, created, envelope, later, new_user_id, paid, stats_of
from tests.support import migrated_database

MIGRATIONS = "shopmesh.analytics:migrations"


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    async with migrated_database(sqlite_url, MIGRATIONS) as database:
        yield database


async def apply(db: Database, *payloads: dict[str, Any]) -> None:
    """Apply each payload in its own transaction, as the consumer's handlers run."""
    for payload in payloads:
        event = envelope(payload)
        async with AnalyticsUnitOfWork(db) as uow:
            await HANDLERS[event.event_type](uow, event)


async def test_stats_start_at_zero(db: Database) -> None:
    assert await stats_of(db).totals() == EMPTY_STATS


async def test_amounts_add_up_exactly_in_decimal(db: Database) -> None:
    user = new_user_id()
    await apply(db, created(user_id=user, amount=0.1), created(user_id=user, amount=0.2))

    totals = await stats_of(db).totals()
    assert totals.total_amount == Decimal("0.30")
    assert str(totals.total_amount) == "0.30"
    [row] = await stats_of(db).users(limit=10, offset=0)
    assert str(row.amount) == "0.30"
    # SQLite stores NUMERIC as a float: the stored sum itself must be 0.3, not 0.30000000000000004.
    async with db.engine.begin() as session:
        raw = (
            await session.execute(text("SELECT total_amount, amount FROM stats, user_stats"))
        ).one()
    assert [str(value) for value in raw] == ["0.3", "0.3"]


async def test_many_small_amounts_accumulate_without_float_drift(db: Database) -> None:
    user = new_user_id()
    await apply(db, *(created(user_id=user, amount=0.1) for _ in range(30)))
    await apply(db, created(user_id=user, amount=999.99), created(user_id=user, amount=7))

    totals = await stats_of(db).totals()
    assert totals.total_amount == Decimal("1009.99")
    assert totals.total_transactions == 32


async def test_created_and_paid_events_update_totals_and_the_users_row(db: Database) -> None:
    alice, bob = new_user_id(), new_user_id()
    await apply(
        db,
        created(user_id=alice, amount=12.5, at=later(1)),
        created(user_id=alice, amount=7.25, at=later(2)),
        created(user_id=bob, amount=100, at=later(3)),
        paid(user_id=alice, transactions_paid=2, at=later(4)),
    )

    totals = await stats_of(db).totals()
    assert totals.total_transactions == 3
    assert totals.total_amount == Decimal("119.75")
    assert totals.total_paid_transactions == 2
    assert totals.events_processed == 4
    assert totals.unique_users == 2
    assert totals.last_event_time == later(4)
    by_user = {u.user_id: u for u in await stats_of(db).users(limit=10, offset=0)}
    assert by_user[alice].transactions == 2
    assert by_user[alice].amount == Decimal("19.75")
    assert by_user[alice].paid_transactions == 2
    assert by_user[alice].last_event_time == later(4)
    assert by_user[bob].paid_transactions == 0
    assert by_user[bob].last_event_time == later(3)


async def test_a_batch_folds_into_the_same_totals_as_its_events_one_by_one(
    db: Database, tmp_path: Path
) -> None:
    alice, bob, carol = new_user_id(), new_user_id(), new_user_id()
    payloads = [
        created(user_id=alice, amount=12.5, at=later(2)),
        created(user_id=bob, amount=0.1, at=later(1)),
        paid(user_id=alice, transactions_paid=1, at=later(3)),
        created(user_id=bob, amount=0.2, at=later(5)),
        created(user_id=alice, amount=7.25, at=later(4)),
    ]
    await apply(db, created(user_id=carol, amount=1, at=later(0)))  # a user seen before
    async with AnalyticsUnitOfWork(db) as uow:
        await on_transactions(uow, [envelope(p) for p in payloads])

    one_by_one = Database(f"sqlite+aiosqlite:///{tmp_path / 'one-by-one.db'}")
    await migrate(one_by_one, MIGRATIONS)
    try:
        await apply(one_by_one, created(user_id=carol, amount=1, at=later(0)), *payloads)
        assert await stats_of(db).totals() == await stats_of(one_by_one).totals()
        batched = await stats_of(db).users(limit=10, offset=0)
        assert batched == await stats_of(one_by_one).users(limit=10, offset=0)
    finally:
        await one_by_one.close()
    totals = await stats_of(db).totals()
    assert (totals.events_processed, totals.unique_users) == (6, 3)
    assert totals.total_amount == Decimal("21.05")


async def test_paid_event_with_nothing_paid_counts_as_processed_only(db: Database) -> None:
    user = new_user_id()
    await apply(db, paid(user_id=user, transactions_paid=0))

    totals = await stats_of(db).totals()
    assert (totals.events_processed, totals.total_paid_transactions) == (1, 0)
    assert totals.unique_users == 1


async def test_last_event_time_keeps_the_latest_when_events_arrive_out_of_order(
    db: Database,
) -> None:
    user = new_user_id()
    await apply(db, created(user_id=user, at=later(10)), created(user_id=user, at=later(5)))

    assert (await stats_of(db).totals()).last_event_time == later(10)
    [row] = await stats_of(db).users(limit=10, offset=0)
    assert row.last_event_time == later(10)


async def test_timestamps_are_normalised_to_utc(db: Database) -> None:
    user = new_user_id()
    await apply(
        db,
        created(user_id=user, timestamp="2025-03-01T14:30:00+02:00"),
        created(user_id=user, timestamp="2025-03-01T11:00:00"),
    )

    moment = (await stats_of(db).totals()).last_event_time
    assert moment == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    assert moment is not None
    assert moment.utcoffset() is not None


async def test_users_are_listed_by_amount_then_user_id_with_paging(db: Database) -> None:
    base = new_user_id() % 1000
    ids = [base + 1, base + 2, base + 3, base + 4]
    await apply(
        db,
        created(user_id=ids[0], amount=5),
        created(user_id=ids[1], amount=50),
        created(user_id=ids[2], amount=5),
        created(user_id=ids[3], amount=0.01),
    )

    listed = [u.user_id for u in await stats_of(db).users(limit=10, offset=0)]
    assert listed == [ids[1], ids[0], ids[2], ids[3]]
    page = [u.user_id for u in await stats_of(db).users(limit=2, offset=1)]
    assert page == [ids[0], ids[2]]


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": "abc"},
        {"amount": "12.50"},
        {"amount": 0.123},
        {"amount": 0},
        {"amount": -5},
        {"amount": True},
        {"amount": None},
        {"amount": 1e12},
        {"user_id": "7"},
        {"user_id": 0},
        {"transaction_id": 1.5},
        {"timestamp": "yesterday"},
    ],
    ids=repr,
)
async def test_invalid_created_payload_raises_and_changes_nothing(
    db: Database, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        await apply(db, {**created(user_id=new_user_id()), **overrides})

    assert await stats_of(db).totals() == EMPTY_STATS
    assert await stats_of(db).users(limit=10, offset=0) == []


@pytest.mark.parametrize(
    "overrides",
    [{"transactions_paid": -1}, {"transactions_paid": "3"}, {"user_id": None}],
    ids=repr,
)
async def test_invalid_paid_payload_raises_and_changes_nothing(
    db: Database, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        await apply(db, {**paid(user_id=new_user_id(), transactions_paid=1), **overrides})

    assert await stats_of(db).totals() == EMPTY_STATS


async def test_missing_timestamp_is_refused(db: Database) -> None:
    payload = created(user_id=new_user_id())
    del payload["timestamp"]

    with pytest.raises(ValidationError):
        await apply(db, payload)


async def test_a_lost_stats_row_is_recreated_on_the_next_event(db: Database) -> None:
    async with db.engine.begin() as session:
        await session.execute(delete(stats))

    await apply(db, created(user_id=new_user_id(), amount=3.5, at=T0))

    totals = await stats_of(db).totals()
    assert (totals.total_transactions, totals.total_amount) == (1, Decimal("3.50"))
    assert totals.events_processed == 1
    assert totals.unique_users == 1
