"""On real Kafka: the relay publishes payments' events to `transactions`, keyed by user id."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from tests.support import wait_for

from .support import running

pytestmark = pytest.mark.kafka


async def _events_of(bootstrap: str, user_id: int, expected: int) -> list[tuple[bytes, Any]]:
    """(key, payload) of the messages about ``user_id`` on `transactions`, in topic order."""
    consumer = AIOKafkaConsumer(
        "transactions",
        bootstrap_servers=bootstrap,
        group_id=f"payments-probe-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[tuple[bytes, Any]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                messages = sorted((m for ms in batch.values() for m in ms), key=lambda m: m.offset)
                for message in messages:
                    payload = orjson.loads(message.value)
                    if payload.get("user_id") == user_id:
                        found.append((message.key, payload))
    finally:
        await consumer.stop()
    return found


async def test_created_and_paid_events_reach_kafka_keyed_by_user(
    sqlite_url: str, kafka_bootstrap: str
) -> None:
    user_id = random.randint(10**9, 10**12)
    overrides = {"kafka_enabled": True, "kafka_bootstrap": kafka_bootstrap}
    async with running(sqlite_url, outbox_poll_interval=0.05, **overrides) as payments:
        tx = (await payments.create(user_id, 12.34, description="kafka")).json()
        await payments.pay(user_id)
        await wait_for(
            lambda: payments.rows("SELECT id FROM outbox_message WHERE published_at IS NULL"),
            until=lambda rows: not rows,
            what="outbox published",
        )
    events = await _events_of(kafka_bootstrap, user_id, expected=2)
    assert [key for key, _ in events] == [str(user_id).encode()] * 2
    created, paid = (payload for _, payload in events)
    assert created["event_type"] == "transaction.created"
    assert created["transaction_id"] == tx["id"]
    assert created["amount"] == 12.34
    assert paid["event_type"] == "transaction.paid"
    assert paid["transactions_paid"] == 1
