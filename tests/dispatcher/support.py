"""Helpers for dispatcher tests: order events as orders sends them, a running app, probes."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shopmesh.dispatcher.api import DispatcherDependency, WebhooksDependency
from shopmesh.dispatcher.consumers import order_handlers
from shopmesh.dispatcher.main import create_app
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.settings import Settings
from shopmesh.dispatcher.webhooks import WebhookNotifier
from shopmesh.kit.events import EventEnvelope
from tests import support
from tests.support import ServiceUnderTest, bearer, serve, wait_for

from .fakes import FakeOrders

WEBHOOK_SECRET = "webhook-secret-0123456789-0123456789-abcdef"
ORDER_FIELDS = (
    "id",
    "reference",
    "customer_id",
    "product_id",
    "quantity",
    "total_cost",
    "status",
    "created_at",
    "dispatched_at",
)


def new_order_id() -> int:
    return random.randint(10**9, 10**15)


def make_order(**overrides: Any) -> dict[str, Any]:
    """An ``order.created`` payload shaped as the contract says (envelope fields included)."""
    payload = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.created",
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "orders",
        "id": new_order_id(),
        "reference": str(uuid.uuid4()),
        "customer_id": random.randint(1, 10**6),
        "product_id": random.randint(1, 10**6),
        "quantity": 2,
        "per_cost": 9.99,
        "total_cost": 19.98,
        "currency": "EUR",
        "status": "Created",
        "created_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
    }
    return {**payload, **overrides}


def cancelled(order: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The ``order.cancelled`` event of ``order`` (a new event id)."""
    return {
        **order,
        "event_id": str(uuid.uuid4()),
        "event_type": "order.cancelled",
        "status": "Cancelled",
        "updated_at": datetime.now(UTC).isoformat(),
        **overrides,
    }


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_secret": WEBHOOK_SECRET,
        "poll_interval": 0.02,
        "webhook_poll_interval": 0.02,
    }
    return support.make_settings(Settings, database_url, **(values | overrides))


class Dispatcher(ServiceUnderTest):
    """The dispatcher app served in process, with helpers to feed it events and look inside,
    and the fake orders it asks before it ships."""

    orders: FakeOrders

    @property
    def service(self) -> DispatchService:
        return self.provided(DispatcherDependency)

    @property
    def webhooks(self) -> WebhookNotifier:
        return self.provided(WebhooksDependency)

    def headers(self, *, role: str = "admin") -> dict[str, str]:
        return bearer(1, role=role)

    async def apply(self, *payloads: dict[str, Any]) -> None:
        """Run the consumer's handlers on ``payloads`` in one unit of work, as it does."""
        handlers = order_handlers(self.service)
        async with self.runtime.units(DispatcherUnitOfWork)() as uow:
            for payload in payloads:
                envelope = EventEnvelope.parse(orjson.dumps(payload), topic="order-events")
                await handlers[envelope.event_type](uow, envelope)

    async def shipments(self, order_id: int) -> list[Any]:
        return await self.rows("SELECT * FROM shipment WHERE order_id = :o", o=order_id)

    async def status_of(self, order_id: int) -> str | None:
        found = await self.shipments(order_id)
        return str(found[0].status) if found else None

    async def wait_for_status(self, order_id: int, status: str, timeout: float = 10) -> None:
        await wait_for(
            lambda: self.status_of(order_id),
            until=lambda s: s == status,
            timeout=timeout,
            what=f"order {order_id} {status}",
        )

    async def deliveries(self, order_id: int | None = None) -> list[Any]:
        if order_id is None:
            return await self.rows("SELECT * FROM webhook_delivery ORDER BY id")
        return await self.rows(
            "SELECT * FROM webhook_delivery WHERE order_id = :o ORDER BY id", o=order_id
        )


@asynccontextmanager
async def running(
    database_url: str, *, orders: FakeOrders | None = None, **overrides: Any
) -> AsyncIterator[Dispatcher]:
    """The dispatcher served in process, asking ``orders`` (served on loopback; by default one
    where every order is Paid) before each dispatch."""
    orders = orders or FakeOrders()
    server = await serve(orders.app())
    try:
        async with asking(database_url, server.url, **overrides) as dispatcher:
            dispatcher.orders = orders
            yield dispatcher
    finally:
        await server.stop()


@asynccontextmanager
async def asking(database_url: str, orders_url: str, **overrides: Any) -> AsyncIterator[Dispatcher]:
    """The dispatcher served in process, asking the orders service at ``orders_url``."""
    settings = make_settings(database_url, service_urls={"orders": orders_url}, **overrides)
    async with support.running(Dispatcher, create_app(settings)) as dispatcher:
        yield dispatcher
