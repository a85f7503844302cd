"""Events go to the outbox in the use case's transaction, with the seed's fields."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from .support import ALICE, Payments


async def test_create_writes_one_transaction_created_event(payments: Payments) -> None:
    tx = (await payments.create(ALICE, 42.5, description="lunch")).json()
    [event] = await payments.events()
    assert event["_topic"] == "transactions"
    assert event["_key"] == str(ALICE)
    assert event["event_type"] == "transaction.created"
    assert event["producer"] == "payments"
    UUID(event["event_id"])
    assert event["transaction_id"] == tx["id"]
    assert event["user_id"] == ALICE
    assert event["amount"] == 42.5
    assert isinstance(event["amount"], float)
    assert event["description"] == "lunch"
    assert datetime.fromisoformat(event["timestamp"]) == datetime.fromisoformat(tx["created_at"])


async def test_pay_writes_one_transaction_paid_event(payments: Payments) -> None:
    await payments.create(ALICE, 1)
    await payments.create(ALICE, 2)
    await payments.pay(ALICE)
    events = await payments.events()
    assert [e["event_type"] for e in events] == ["transaction.created"] * 2 + ["transaction.paid"]
    paid = events[-1]
    assert paid["_key"] == str(ALICE)
    assert paid["producer"] == "payments"
    assert paid["user_id"] == ALICE
    assert paid["transactions_paid"] == 2
    datetime.fromisoformat(paid["timestamp"])
    assert len({e["event_id"] for e in events}) == 3


async def test_paying_nothing_writes_no_event(payments: Payments) -> None:
    response = await payments.pay(ALICE)
    assert response.json() == {"message": "no unpaid transactions", "transactions_paid": 0}
    assert await payments.events() == []


async def test_refused_requests_write_no_event(payments: Payments) -> None:
    await payments.create(ALICE, 1000)
    await payments.create(ALICE, 1)
    await payments.create(ALICE, -1)
    await payments.create(ALICE, 1, user_id=ALICE + 1)
    assert [e["event_type"] for e in await payments.events()] == ["transaction.created"]
