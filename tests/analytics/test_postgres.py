"""Aggregation on real PostgreSQL: concurrent writers never lose an update; the consumer's
batches add up to what the events one by one do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import delete

from shopmesh.analytics.consumers import HANDLERS, on_transactions
from shopmesh.analytics.repository import AnalyticsUnitOfWork, stats
from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.migrations import migrate
from tests.analytics.factories import created, envelope, later, new_user_id, paid, stats_of
from tests.support import round_trips

CONSUMER = "analytics-test"

pytestmark = pytest.mark.postgres


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url, pool_size=20)
    await migrate(database, "shopmesh.analytics:migrations")
    yield database
    await database.close()


async def test_concurrent_transactions_lose_no_increment(db: Database) -> None:
    shared_user, newcomers = new_user_id(), [new_user_id() for _ in range(10)]
    events = [envelope(created(user_id=shared_user, amount=0.1, at=later(i))) for i in range(30)]
    # Several transactions race to insert each newcomer's row.
    events += [envelope(created(user_id=u, amount=0.2)) for u in newcomers for _ in range(3)]
    events += [envelope(paid(user_id=shared_user, transactions_paid=2)) for _ in range(5)]

    async def apply_one(event: EventEnvelope) -> None:
        async with AnalyticsUnitOfWork(db) as uow:
            await HANDLERS[event.event_type](uow, event)

    await asyncio.gather(*(apply_one(event) for event in events))

    totals = await stats_of(db).totals()
    assert totals.total_transactions == 60
    assert totals.total_amount == Decimal("9.00")
    assert totals.total_paid_transactions == 10
    assert totals.events_processed == 65
    assert totals.unique_users == 11
    assert totals.last_event_time == later(29)
    by_user = {u.user_id: u for u in await stats_of(db).users(limit=100, offset=0)}
    assert by_user[shared_user].transactions == 30
    assert by_user[shared_user].amount == Decimal("3.00")
    assert by_user[shared_user].paid_transactions == 10
    assert all(by_user[u].amount == Decimal("0.60") for u in newcomers)


async def apply_batch(db: Database, events: list[EventEnvelope]) -> int:
    """Apply ``events`` as the consumer applies a fetched batch; how many were new."""
    consumer = EventConsumer(
        lambda: AnalyticsUnitOfWork(db),
        service="analytics",
        bootstrap="127.0.0.1:1",  # never contacted: the batch is handed over directly
        group_id=CONSUMER,
        handlers=HANDLERS,
        batch_handler=on_transactions,
        topics=["transactions"],
    )
    await consumer.apply_batch(events)
    return consumer.applied


async def test_a_batch_folds_into_the_totals_and_users(db: Database) -> None:
    known, alice, bob = new_user_id(), new_user_id(), new_user_id()
    await apply_batch(db, [envelope(created(user_id=known, amount=1, at=later(0)))])
    batch = [
        envelope(created(user_id=alice, amount=12.5, at=later(2))),
        envelope(created(user_id=known, amount=0.1, at=later(6))),
        envelope(paid(user_id=alice, transactions_paid=1, at=later(3))),
        envelope(created(user_id=bob, amount=0.2, at=later(5))),
        envelope(paid(user_id=known, transactions_paid=2, at=later(4))),
        envelope(created(user_id=alice, amount=7.25, at=later(1))),
    ]

    assert await apply_batch(db, batch) == len(batch)

    totals = await stats_of(db).totals()
    assert (totals.events_processed, totals.unique_users) == (7, 3)
    assert (totals.total_transactions, totals.total_paid_transactions) == (5, 3)
    assert totals.total_amount == Decimal("21.05")
    assert totals.last_event_time == later(6)
    by_user = {u.user_id: u for u in await stats_of(db).users(limit=10, offset=0)}
    assert (by_user[alice].transactions, by_user[alice].amount) == (2, Decimal("19.75"))
    assert (by_user[alice].paid_transactions, by_user[alice].last_event_time) == (1, later(3))
    assert (by_user[known].transactions, by_user[known].amount) == (2, Decimal("1.10"))
    assert (by_user[known].paid_transactions, by_user[known].last_event_time) == (2, later(6))
    assert (by_user[bob].transactions, by_user[bob].amount) == (1, Decimal("0.20"))


async def test_a_batch_skips_the_events_applied_before(db: Database) -> None:
    user = new_user_id()
    first = [envelope(created(user_id=user, amount=2)) for _ in range(3)]
    await apply_batch(db, first)
    again = [*first[1:], envelope(created(user_id=user, amount=5))]

    assert await apply_batch(db, again) == 1  # only the new one

    totals = await stats_of(db).totals()
    assert (totals.total_transactions, totals.total_amount) == (4, Decimal("11.00"))
    assert (totals.events_processed, totals.unique_users) == (4, 1)


async def test_concurrent_batches_lose_no_increment(db: Database) -> None:
    shared, newcomers = new_user_id(), [new_user_id() for _ in range(8)]
    batches = [
        [
            envelope(created(user_id=shared, amount=0.1, at=later(i))),
            *(envelope(created(user_id=u, amount=0.2)) for u in newcomers),
            envelope(paid(user_id=shared, transactions_paid=1)),
        ]
        for i in range(12)
    ]
    # Every batch twice at once: each event applies once, whichever copy wins.
    results = await asyncio.gather(*(apply_batch(db, b) for b in batches + batches))

    assert sum(results) == sum(len(batch) for batch in batches)
    totals = await stats_of(db).totals()
    assert totals.total_transactions == 12 * 9
    assert totals.total_amount == Decimal("20.40")
    assert (totals.total_paid_transactions, totals.events_processed) == (12, 120)
    assert totals.unique_users == 9
    assert totals.last_event_time == later(11)


async def test_a_batch_recreates_a_lost_stats_row(db: Database) -> None:
    async with db.engine.begin() as session:
        await session.execute(delete(stats))

    await apply_batch(db, [envelope(created(user_id=new_user_id(), amount=3.5))])

    totals = await stats_of(db).totals()
    assert (totals.total_transactions, totals.total_amount) == (1, Decimal("3.50"))
    assert (totals.events_processed, totals.unique_users) == (1, 1)


async def test_a_batch_is_one_statement_besides_its_processed_ids(db: Database) -> None:
    users = [new_user_id() for _ in range(3)]
    await apply_batch(db, [envelope(created(user_id=users[0], amount=1))])
    with round_trips(db.engine) as seen:
        # Known and new users, created and paid events.
        batch = [envelope(created(user_id=u, amount=2)) for u in users]
        await apply_batch(db, [*batch, envelope(paid(user_id=users[1], transactions_paid=1))])

    # The batch's ids, then its effect.
    assert [statement.split()[0] for statement in seen.statements] == ["INSERT", "WITH"]
    totals = await stats_of(db).totals()
    assert (totals.total_transactions, totals.unique_users) == (4, 3)
