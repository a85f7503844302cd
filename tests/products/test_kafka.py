"""On real Kafka: an order.cancelled event on `order-events` gives the order's stock back.

The topic is the platform's own and may carry other tests' events, so the
test uses its own consumer group and asserts only on its own data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shopmesh.kit.kafka import ensure_topics
from tests.support import wait_for

from .support import Products, line, new_reservation_id, running
from .test_consumers import order_cancelled

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

TOPIC = "order-events"


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    await ensure_topics(kafka_bootstrap, [TOPIC])
    kafka = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def test_order_cancelled_on_kafka_releases_the_reservation_once(
    postgres_url: str,
    kafka_bootstrap: str,
    producer: AIOKafkaProducer,
    unique: Callable[[str], str],
) -> None:
    overrides = {
        "kafka_enabled": True,
        "kafka_bootstrap": kafka_bootstrap,
        "group_id": unique("products-test-"),
        "consumer_retry_backoff": 0.01,
    }
    async with running(postgres_url, **overrides) as products:
        product = await products.new(stock_quantity=5)
        reserved = line(product["id"], 4)
        assert (await products.reserve(reserved)).status_code == 200
        event = order_cancelled(reserved["reservation_id"], product_id=product["id"], quantity=4)
        # Delivered twice, as a retrying producer may, then a marker about another order. One
        # key keeps them in one partition, in order: once the marker is applied, so are both.
        marker = order_cancelled(new_reservation_id())
        for payload in (event, event, marker):
            await producer.send_and_wait(TOPIC, value=orjson.dumps(payload), key=b"42")

        await wait_for(
            lambda: _processed(products, marker["event_id"]),
            until=lambda count: count == 1,
            timeout=60,
            what="the marker event applied",
        )
        assert await products.stock(product["id"]) == 5
        assert await _processed(products, event["event_id"]) == 1
        [(status,)] = await products.rows("SELECT status FROM stock_reservation")
        assert status == "released"


async def _processed(products: Products, event_id: str) -> int:
    rows = await products.rows(
        "SELECT count(*) FROM processed_event WHERE event_id = :id", id=event_id
    )
    return int(rows[0][0])
