"""Helpers for dispatcher tests: order events as orders sends them, a running app, probes."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from shopmesh.dispatcher.api import DispatcherDependency, WebhooksDependency
from shopmesh.dispatcher.consumers import order_handlers
from shopmesh.dispatcher.main import create_app
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from shopmesh.dispatcher.service import DispatchService
from shopmesh.dispatcher.settings import Settings
from shopmesh.dispatcher.webhooks import WebhookNotifier
from shopmesh.kit.app import ServiceApp
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.kit.runtime import ServiceRuntime
from tests.support import serve_in_process, wait_for

SECRET = "test-secret-0123456789-0123456789-abcdef"
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
        "database_url": database_url,
        "kafka_enabled": False,
        "jwt_secret": SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        "poll_interval": 0.02,
        "webhook_poll_interval": 0.02,
    }
    return Settings(**(values | overrides))


def token_for(settings: Settings, *, role: str = "admin", user_id: int = 1) -> str:
    principal = Principal(user_id=user_id, username=f"user{user_id}", role=role)
    return issue_token(
        principal, secret=settings.jwt_secret, issuer=settings.jwt_issuer, ttl=timedelta(hours=1)
    )


@dataclass
class Dispatcher:
    """A dispatcher app served in process, with helpers to feed it events and look inside."""

    client: httpx.AsyncClient
    settings: Settings
    app: ServiceApp

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.runtime

    @property
    def service(self) -> DispatchService:
        return self.app.provided(DispatcherDependency)

    @property
    def webhooks(self) -> WebhookNotifier:
        return self.app.provided(WebhooksDependency)

    def headers(self, *, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(self.settings, role=role)}"}

    async def apply(self, *payloads: dict[str, Any]) -> None:
        """Run the consumer's handlers on ``payloads`` in one transaction, as the consumer does."""
        handlers = order_handlers(self.service)
        async with self.runtime.units(DispatcherUnitOfWork)() as uow:
            for payload in payloads:
                envelope = EventEnvelope.parse(orjson.dumps(payload), topic="order-events")
                await handlers[envelope.event_type](uow, envelope)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.runtime.db.engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())

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

    async def events(self) -> list[dict[str, Any]]:
        """Outbox rows in write order, the payload parsed, plus topic and key."""
        rows = await self.rows("SELECT topic, key, payload FROM outbox_message ORDER BY id")
        return [{"_topic": r.topic, "_key": r.key, **orjson.loads(r.payload)} for r in rows]

    async def deliveries(self, order_id: int | None = None) -> list[Any]:
        if order_id is None:
            return await self.rows("SELECT * FROM webhook_delivery ORDER BY id")
        return await self.rows(
            "SELECT * FROM webhook_delivery WHERE order_id = :o ORDER BY id", o=order_id
        )


@asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[Dispatcher]:
    settings = make_settings(database_url, **overrides)
    app = create_app(settings)
    async with serve_in_process(app) as client:
        yield Dispatcher(client=client, settings=settings, app=app)
