"""A cancel racing the dispatch on PostgreSQL and Kafka, orders and the dispatcher for real
(products faked): orders is paid by payment.authorized on Kafka, the dispatcher records the
shipment from order.paid, and whichever of the customer's cancel and the dispatcher's question
reaches the order row first wins; the other is refused. Exactly one outcome each: shipped (order
Dispatched, one order.dispatched, its webhook deliveries) or withdrawn (order Cancelled,
order.cancelled for payments and products, no shipment leaves, no webhook)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import fresh_database
from tests.dispatcher.support import Dispatcher, asking
from tests.orders.fakes import closed_port_url
from tests.orders.support import Orders, fakes_running, served
from tests.support import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

CUSTOMER = 4242
HOOKS = [f"{closed_port_url()}/hook-a", f"{closed_port_url()}/hook-b"]


async def _authorize(bootstrap: str, orders: list[dict[str, Any]]) -> None:
    """payment.authorized for each of ``orders``, as payments announces it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for order in orders:
            payload = {
                "event_id": str(uuid.uuid4()),
                "event_type": "payment.authorized",
                "occurred_at": datetime.now(UTC).isoformat(),
                "producer": "payments",
                "order_id": order["id"],
                "user_id": CUSTOMER,
                "amount": order["total_cost"],
                "transaction_id": order["id"] % 10**6,
            }
            key = str(order["id"]).encode()
            await producer.send_and_wait("payment-events", orjson.dumps(payload), key=key)
    finally:
        await producer.stop()


async def _outcome(orders: Orders, dispatcher: Dispatcher, order_id: int) -> tuple[Any, ...]:
    """Orders' status, the shipment's, the dispatcher's order.dispatched events and webhook
    deliveries, and orders' order.cancelled events, for one order."""
    status = (await orders.get(CUSTOMER, order_id)).json()["status"]
    shipment = await dispatcher.status_of(order_id)
    sent = [e for e in await dispatcher.events() if e["id"] == order_id]
    hooks = await dispatcher.deliveries(order_id)
    cancels = [
        e for e in await orders.events() if e["id"] == order_id and e["status"] == "Cancelled"
    ]
    return status, shipment, len(sent), len(hooks), len(cancels)


SHIPPED = ("Dispatched", "dispatched", 1, len(HOOKS), 0)
WITHDRAWN = ("Cancelled", "cancelled", 0, 0, 1)


async def test_a_cancel_and_a_dispatch_of_one_order_never_both_happen(
    postgres_url: str,
    postgres_admin: asyncpg.Connection,
    kafka_bootstrap: str,
    unique: Callable[[str], str],
) -> None:
    kafka = {"kafka_enabled": True, "kafka_bootstrap": kafka_bootstrap}
    fast = {"outbox_poll_interval": 0.05, "consumer_retry_backoff": 0.05}
    async with (
        fakes_running() as fakes,
        served(postgres_url, fakes.urls(), group_id=unique("orders-"), **kafka, **fast) as orders,
        fresh_database(postgres_admin) as dispatcher_db,  # the dispatcher's own, beside orders'
        # Due in a minute: the loop leaves them be, the test decides when the dispatcher acts.
        asking(
            dispatcher_db,
            str(orders.client.base_url),
            group_id=unique("dispatcher-"),
            handling_delay=60,
            webhook_urls=HOOKS,
            **kafka,
            **fast,
        ) as dispatcher,
    ):
        tea = fakes.products.add("Tea", "2.00")
        # Ids no earlier run's events on the shared topics can name.
        first_id = random.randint(10**12, 10**15)
        await orders.execute(f"ALTER SEQUENCE customer_order_id_seq RESTART WITH {first_id}")
        placed = [await orders.place_one(CUSTOMER, tea) for _ in range(4)]
        await _authorize(kafka_bootstrap, placed)
        for order in placed:
            await dispatcher.wait_for_status(order["id"], "pending", timeout=60)
        cancel_first, ship_first = placed[:2], placed[2:]
        later = datetime.now(UTC) + timedelta(minutes=2)

        # The shipments are due; the customer's cancels commit before the dispatcher acts
        # (it may not have read their order.cancelled yet).
        for order in cancel_first:
            assert (await orders.cancel(CUSTOMER, order["id"])).status_code == 200
        assert await dispatcher.service.dispatch_due(now=later) == 2
        # And the other way round: dispatched first, the cancels after it are refused.
        for order in ship_first:
            refused = await orders.cancel(CUSTOMER, order["id"])
            assert (refused.status_code, refused.json()["code"]) == (409, "already_dispatched")

        # order.cancelled reaches the dispatcher too: nothing more changes.
        cancels = {e["event_id"] for e in await orders.events() if e["status"] == "Cancelled"}

        async def read() -> set[str]:
            rows = await dispatcher.rows("SELECT event_id FROM processed_event")
            return {row.event_id for row in rows}

        await wait_for(read, until=cancels.issubset, timeout=60, what="order.cancelled read")
        assert await dispatcher.service.dispatch_due(now=later) == 0
        outcomes = [await _outcome(orders, dispatcher, o["id"]) for o in placed]

    assert outcomes == [WITHDRAWN, WITHDRAWN, SHIPPED, SHIPPED]
