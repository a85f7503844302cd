"""On real Kafka and PostgreSQL: two orders instances on one database each hear every event.

A dispatch orders decided, once produced to `order-events` (as the dispatcher
announces it), reaches a customer streaming from either instance, and the order
reads Dispatched everywhere as the stream says.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shopmesh.orders.main import ListenerDependency
from tests.support import wait_for

from .support import EventStream, Fakes, Orders, auth, dispatched_message, served, status_stream

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def _produce(bootstrap: str, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("order-events", value=value, key=key.encode())
    finally:
        await producer.stop()


async def _until_status(stream: EventStream, order_id: int, status: str) -> dict[str, Any]:
    """Read past other messages (the order's Created, other runs' orders) to ``status``."""
    while True:
        kind, data = await stream.next_event(timeout=30)
        if kind == "status" and data["order_id"] == order_id and data["status"] == status:
            return dict(data)


async def _listening(orders: Orders) -> bool:
    return orders.app.provided(ListenerDependency).ready.is_set()


async def test_a_dispatch_on_kafka_reaches_streams_on_every_instance(
    postgres_url: str, kafka_bootstrap: str, fakes: Fakes, unique: Callable[[str], str]
) -> None:
    customer = random.randint(10**9, 10**12)
    overrides = {
        "kafka_enabled": True,
        "kafka_bootstrap": kafka_bootstrap,
        "group_id": unique("orders-test-"),
        "outbox_poll_interval": 0.05,
    }
    tea = fakes.products.add("Tea", "2.00")
    async with (
        served(postgres_url, fakes.urls(), **overrides) as one,
        served(postgres_url, fakes.urls(), **overrides) as two,
    ):
        # Ids no earlier run's events on the shared topic can name.
        first_id = random.randint(10**12, 10**15)
        await one.execute(f"ALTER SEQUENCE customer_order_id_seq RESTART WITH {first_id}")
        for instance in (one, two):
            await wait_for(lambda i=instance: _listening(i), timeout=60, what="live listener")
        order = (await two.place(customer, {"product_id": tea, "quantity": 1})).json()
        async with status_stream(one, customer) as on_one, status_stream(two, customer) as on_two:
            assert await one.confirm_dispatch(order) == [order["id"]]
            await _produce(kafka_bootstrap, str(order["id"]), dispatched_message(order))

            seen_on_one = await _until_status(on_one, order["id"], "Dispatched")
            read_on_two = (
                await two.client.get(f"/api/orders/{order['id']}", headers=auth(customer))
            ).json()
            assert (read_on_two["status"], read_on_two["updated_by"]) == (
                "Dispatched",
                "dispatcher",
            )
            assert read_on_two["updated_at"] == seen_on_one["updated_at"]
            assert await _until_status(on_two, order["id"], "Dispatched") == seen_on_one
