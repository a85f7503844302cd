"""Aggregation on real PostgreSQL: concurrent writers never lose an update."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from shopmesh.analytics import service
from shopmesh.analytics.consumers import HANDLERS
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.migrations import migrate
from tests.analytics.factories import created, envelope, later, new_user_id, paid

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
        async with db.transaction() as session:
            await HANDLERS[event.event_type](session, event)

    await asyncio.gather(*(apply_one(event) for event in events))

    totals = await service.read_stats(db)
    assert totals.total_transactions == 60
    assert totals.total_amount == Decimal("9.00")
    assert totals.total_paid_transactions == 10
    assert totals.events_processed == 65
    assert totals.unique_users == 11
    assert totals.last_event_time == later(29)
    by_user = {u.user_id: u for u in await service.list_users(db, limit=100, offset=0)}
    assert by_user[shared_user].transactions == 30
    assert by_user[shared_user].amount == Decimal("3.00")
    assert by_user[shared_user].paid_transactions == 10
    assert all(by_user[u].amount == Decimal("0.60") for u in newcomers)
