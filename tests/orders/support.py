"""Helpers for orders tests: the app over a fresh database, the fakes it calls, tokens, probes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from shopmesh.kit.jwt import SERVICE_ROLE, TokenVerifier
from shopmesh.orders.api import HubDependency
from shopmesh.orders.live import StatusHub
from shopmesh.orders.main import create_app
from shopmesh.orders.settings import Settings
from tests import support
from tests.support import ISSUER, SECRET, Running, ServiceUnderTest, bearer, serve

from .fakes import FakeCustomers, FakeProducts

TABLES = ("customer_order", "outbox_message", "idempotency_record")
ALICE, BOB = 101, 202


def dispatched_message(order: dict[str, Any], **overrides: Any) -> bytes:
    """``order.dispatched`` for ``order`` as the dispatcher sends it (the contract's fields
    plus the envelope); ``overrides`` replace fields."""
    now = datetime.now(UTC).isoformat()
    fields = ("id", "reference", "customer_id", "product_id", "quantity", "total_cost")
    payload = {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.dispatched",
        "occurred_at": now,
        "producer": "dispatcher",
        **{name: order[name] for name in fields},
        "status": "Dispatched",
        "created_at": order["created_at"],
        "dispatched_at": now,
        **overrides,
    }
    return orjson.dumps(payload)


def make_settings(database_url: str, urls: dict[str, str], **overrides: Any) -> Settings:
    values: dict[str, Any] = {"service_urls": urls, "service_call_timeout": 3.0}
    return support.make_settings(Settings, database_url, **(values | overrides))


def at(timestamp: str) -> datetime:
    """A response's ISO 8601 timestamp, to compare as time (not as text)."""
    return datetime.fromisoformat(timestamp)


def auth(user_id: int, **extra: str) -> dict[str, str]:
    return bearer(user_id, **extra)


@dataclass
class Fakes:
    """The fake products and customers services, running."""

    products: FakeProducts
    customers: FakeCustomers
    servers: dict[str, Running] = field(default_factory=dict)

    def urls(self) -> dict[str, str]:
        return {name: running.url for name, running in self.servers.items()}

    async def stop(self) -> None:
        await asyncio.gather(*(running.stop() for running in self.servers.values()))


@asynccontextmanager
async def fakes_running() -> AsyncIterator[Fakes]:
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER)
    fakes = Fakes(FakeProducts(verifier), FakeCustomers(verifier))
    fakes.servers["products"] = await serve(fakes.products.app(), graceful_shutdown=2)
    fakes.servers["customers"] = await serve(fakes.customers.app(), graceful_shutdown=2)
    try:
        yield fakes
    finally:
        await fakes.stop()


class Orders(ServiceUnderTest):
    """An orders app, with helpers to call it and look into its database."""

    @property
    def hub(self) -> StatusHub:
        return self.provided(HubDependency)

    async def place(self, caller: int, body: Any, **headers: str) -> httpx.Response:
        return await self.client.post("/api/orders", json=body, headers=auth(caller, **headers))

    async def place_one(self, caller: int, product_id: int, quantity: int = 1) -> dict[str, Any]:
        response = await self.place(caller, {"product_id": product_id, "quantity": quantity})
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    async def list(self, caller: int, **params: Any) -> httpx.Response:
        return await self.client.get("/api/orders", params=params, headers=auth(caller))

    async def get(self, caller: int, order_id: Any) -> httpx.Response:
        return await self.client.get(f"/api/orders/{order_id}", headers=auth(caller))

    async def cancel(self, caller: int, order_id: Any) -> httpx.Response:
        return await self.client.post(f"/api/orders/{order_id}/cancel", headers=auth(caller))

    async def ask_to_dispatch(self, *order_ids: Any, role: str = SERVICE_ROLE) -> httpx.Response:
        """The dispatcher's question before it ships (with a service token)."""
        body = {"order_ids": list(order_ids)}
        headers = bearer(0, role=role)
        return await self.client.post("/api/orders/dispatches", json=body, headers=headers)

    async def confirm_dispatch(self, *orders: dict[str, Any]) -> list[int]:
        """Orders' dispatch decision for ``orders``, asked as the dispatcher asks it; the ids
        of those that may leave (now Dispatched)."""
        answer = await self.ask_to_dispatch(*(order["id"] for order in orders))
        assert answer.status_code == 200, answer.text
        return list(answer.json()["dispatched"])

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.runtime.db.engine.begin() as connection:
            await connection.execute(text(sql), params)

    async def counts(self, *tables: str) -> dict[str, int]:
        return await super().counts(*(tables or TABLES))

    async def set_status(self, order_id: int, status: str) -> None:
        await self.execute(
            "UPDATE customer_order SET status = :s WHERE id = :id", s=status, id=order_id
        )


@asynccontextmanager
async def running(
    database_url: str, urls: dict[str, str], **overrides: Any
) -> AsyncIterator[Orders]:
    """Orders served in process (httpx over ASGI, no socket)."""
    app = create_app(make_settings(database_url, urls, **overrides))
    async with support.running(Orders, app) as orders:
        yield orders


@asynccontextmanager
async def served(
    database_url: str, urls: dict[str, str], **overrides: Any
) -> AsyncIterator[Orders]:
    """Orders under uvicorn on a loopback port (for streams, which need a real socket)."""
    settings = make_settings(database_url, urls, **overrides)
    app = create_app(settings)
    server = await serve(app, graceful_shutdown=2)  # a stream left open must not hold a run
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            yield Orders(client=client, settings=settings, app=app)
    finally:
        await server.stop()


class EventStream:
    """Reads a ``text/event-stream`` response message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, *, timeout: float = 10.0) -> tuple[str, Any]:
        """The next message: ``("comment", text)`` or ``(event name, parsed data)``."""
        event, data = "message", []
        async with asyncio.timeout(timeout):
            while True:
                line = await anext(self._lines)
                if line.startswith(":"):
                    return "comment", line[1:].strip()
                if not line:
                    if data:
                        return event, orjson.loads("\n".join(data))
                    continue
                name, _, value = line.partition(":")
                if name == "event":
                    event = value.strip()
                elif name == "data":
                    data.append(value.removeprefix(" "))

    async def next_event(self, *, timeout: float = 10.0) -> tuple[str, Any]:
        """The next message that is not a comment."""
        while True:
            kind, data = await self.next(timeout=timeout)
            if kind != "comment":
                return kind, data


@asynccontextmanager
async def status_stream(orders: Orders, user_id: int) -> AsyncIterator[EventStream]:
    """``user_id``'s status stream, open and subscribed (its first comment has arrived)."""
    headers = auth(user_id)
    async with orders.client.stream("GET", "/api/orders/stream", headers=headers) as response:
        assert response.status_code == 200
        stream = EventStream(response)
        assert await stream.next() == ("comment", "connected")
        yield stream


async def orders_to_dispatch(
    orders: Orders, fakes: Fakes
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """ALICE's orders for a batch of dispatches: two created, one cancelled, and one the
    service never had."""
    tea = fakes.products.add("Tea", "1.00")
    first, second, cancelled = [await orders.place_one(ALICE, tea) for _ in range(3)]
    await orders.cancel(ALICE, cancelled["id"])
    return first, second, cancelled, {**first, "id": first["id"] + 1000}
