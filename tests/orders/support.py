"""Helpers for orders tests: the app over a fresh database, the fakes it calls, tokens, probes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from shopmesh.kit.jwt import Principal, TokenVerifier, issue_token
from shopmesh.orders.live import StatusHub
from shopmesh.orders.main import create_app
from shopmesh.orders.settings import Settings
from tests.support import Running, serve, serve_in_process

from .fakes import FakeCustomers, FakeProducts

SECRET = "test-secret-0123456789-0123456789-abcdef"
ISSUER = "shopmesh-auth"
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
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_enabled": False,
        "jwt_secret": SECRET,
        "jwt_issuer": ISSUER,
        "service_urls": urls,
        "service_call_timeout": 3.0,
    }
    return Settings(**(values | overrides))


def at(timestamp: str) -> datetime:
    """A response's ISO 8601 timestamp, to compare as time (not as text)."""
    return datetime.fromisoformat(timestamp)


def token_for(user_id: int, *, role: str = "user") -> str:
    principal = Principal(user_id=user_id, username=f"user{user_id}", role=role)
    return issue_token(principal, secret=SECRET, issuer=ISSUER, ttl=timedelta(hours=1))


def auth(user_id: int, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user_id)}", **extra}


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


@dataclass
class Orders:
    """An orders app, with helpers to call it and look into its database."""

    client: httpx.AsyncClient
    settings: Settings
    app: Any

    @property
    def runtime(self) -> Any:
        return self.app.fastapi.state.runtime

    @property
    def hub(self) -> StatusHub:
        hub: StatusHub = self.runtime.state["hub"]
        return hub

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

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.runtime.db.engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.runtime.db.transaction() as session:
            await session.execute(text(sql), params)

    async def counts(self) -> dict[str, int]:
        return {t: (await self.rows(f"SELECT count(*) FROM {t}"))[0][0] for t in TABLES}  # noqa: S608

    async def events(self) -> list[dict[str, Any]]:
        """Outbox rows in write order, the payload parsed, plus topic and key."""
        rows = await self.rows("SELECT topic, key, payload FROM outbox_message ORDER BY id")
        return [{"_topic": r.topic, "_key": r.key, **orjson.loads(r.payload)} for r in rows]

    async def set_status(self, order_id: int, status: str) -> None:
        async with self.runtime.db.transaction() as session:
            await session.execute(
                text("UPDATE customer_order SET status = :s WHERE id = :id"),
                {"s": status, "id": order_id},
            )


@asynccontextmanager
async def running(
    database_url: str, urls: dict[str, str], **overrides: Any
) -> AsyncIterator[Orders]:
    """Orders served in process (httpx over ASGI, no socket)."""
    settings = make_settings(database_url, urls, **overrides)
    app = create_app(settings)
    async with serve_in_process(app) as client:
        yield Orders(client=client, settings=settings, app=app)


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
