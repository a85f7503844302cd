"""On real Kafka and PostgreSQL: an order.created on `order-events` comes back as order.dispatched.

`order-events` is the platform's real topic, shared with other tests: the
dispatcher runs in a consumer group of its own that starts at the topic's
end, and the test looks only at its own (fresh) order ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shopmesh.kit.kafka import ensure_topics
from tests.support import wait_for

from .support import ORDER_FIELDS, make_order, running

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

TOPIC = "order-events"


async def _partitions(bootstrap: str) -> list[TopicPartition]:
    await ensure_topics(bootstrap, [TOPIC])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return [TopicPartition(TOPIC, p) for p in sorted(await producer.partitions_for(TOPIC))]
    finally:
        await producer.stop()


async def start_group_at_the_end(bootstrap: str, group_id: str) -> None:
    """Commit ``group_id``'s offsets at the topic's end: it skips other tests' old orders."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


@pytest.fixture
async def tail(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A reader of `order-events` from its current end (no group)."""
    partitions = await _partitions(kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(partitions)
    for partition, offset in (await consumer.end_offsets(partitions)).items():
        consumer.seek(partition, offset)
    yield consumer
    await consumer.stop()


async def test_an_order_created_on_kafka_is_dispatched_back_to_kafka(
    postgres_url: str,
    kafka_bootstrap: str,
    unique: Callable[[str], str],
    tail: AIOKafkaConsumer,
) -> None:
    group = unique("dispatcher-test-")
    await start_group_at_the_end(kafka_bootstrap, group)
    order = make_order()
    found: list[tuple[bytes, dict[str, Any]]] = []

    async def dispatched_for_our_order() -> int:
        for records in (await tail.getmany(timeout_ms=200)).values():
            for record in records:
                payload = orjson.loads(record.value)
                if (
                    payload.get("event_type") == "order.dispatched"
                    and payload.get("id") == order["id"]
                ):
                    found.append((record.key, payload))
        return len(found)

    async with running(
        postgres_url,
        kafka_enabled=True,
        kafka_bootstrap=kafka_bootstrap,
        group_id=group,
        handling_delay=0,
        outbox_poll_interval=0.05,
        consumer_retry_backoff=0.05,
    ) as service:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                TOPIC, value=orjson.dumps(order), key=str(order["id"]).encode()
            )
            # The same event again, as a redelivery would bring it: still one dispatch.
            await producer.send_and_wait(
                TOPIC, value=orjson.dumps(order), key=str(order["id"]).encode()
            )
        finally:
            await producer.stop()
        await wait_for(
            dispatched_for_our_order, until=lambda n: n >= 1, timeout=60, what="order.dispatched"
        )
        await service.wait_for_status(order["id"], "dispatched")
        outbox = [e for e in await service.events() if e["id"] == order["id"]]

    [(key, event)] = found
    assert key == str(order["id"]).encode()
    assert set(ORDER_FIELDS) <= set(event)
    assert event["status"] == "Dispatched"
    assert event["producer"] == "dispatcher"
    assert (event["reference"], event["customer_id"], event["product_id"]) == (
        order["reference"],
        order["customer_id"],
        order["product_id"],
    )
    assert (event["quantity"], event["total_cost"]) == (order["quantity"], order["total_cost"])
    assert [e["event_id"] for e in outbox] == [event["event_id"]]
