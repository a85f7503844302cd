"""Events go to the outbox in the use case's transaction, with the seed's fields."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import pytest

from shopmesh.payments.domain import TransactionCreated
from shopmesh.payments.repository import cut_payload

from .support import ALICE, Payments, running

# Quotes, a backslash, non-ASCII and the field's own text: none may disturb the event's id.
AWKWARD = 'lunch "transaction_id":0, \\ café "}'


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


async def test_every_charge_writes_its_own_id_into_its_event(database_url: str) -> None:
    # On PostgreSQL one statement writes the charge and its event, the payload made
    # before the id exists; the stored bytes must be what the event itself serialises to.
    async with running(database_url) as payments:
        created = [
            (await payments.create(ALICE, amount, description=AWKWARD)).json()
            for amount in ("0.01", 12, 99.99)
        ]
        raw = await payments.rows("SELECT event_id, payload FROM outbox_message ORDER BY id")
        events = await payments.events()
    assert [e["transaction_id"] for e in events] == [tx["id"] for tx in created]
    assert [e["description"] for e in events] == [AWKWARD] * 3
    assert [e["amount"] for e in events] == [0.01, 12.0, 99.99]
    for row, event in zip(raw, events, strict=True):
        assert bytes(row.payload) == TransactionCreated.model_validate(event).to_bytes()
        assert row.event_id == event["event_id"]


@pytest.mark.parametrize(
    "payload",
    [b'{"user_id":1}', b'{"transaction_id":01}', b'{"a":{"transaction_id":0},"transaction_id":0}'],
)
def test_a_payload_without_one_top_level_placeholder_id_is_not_cut(payload: bytes) -> None:
    with pytest.raises(ValueError, match="transaction_id"):
        cut_payload(payload)


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


async def test_refused_requests_write_no_event(payments: Payments) -> None:
    await payments.create(ALICE, 1000)
    await payments.create(ALICE, 1)
    await payments.create(ALICE, -1)
    await payments.create(ALICE, 1, user_id=ALICE + 1)
    assert [e["event_type"] for e in await payments.events()] == ["transaction.created"]
