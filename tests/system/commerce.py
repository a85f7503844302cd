"""Helpers for commerce flows through the gateway: users, products, the live order stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from tests.system.test_payments_flow import call, register


async def login(http: aiohttp.ClientSession, username: str, password: str) -> str:
    status, body = await call(
        http, "POST", "/auth/login", json={"username": username, "password": password}
    )
    assert status == 200, body
    return str(body["token"])


async def add_product(
    http: aiohttp.ClientSession, admin_token: str, *, price: float, stock: int, **fields: Any
) -> dict[str, Any]:
    """A new product (a kettle unless ``fields`` say otherwise)."""
    status, product = await call(
        http,
        "POST",
        "/api/products",
        admin_token,
        json={
            "name": f"Kettle {uuid.uuid4().hex[:6]}",
            "description": "Boils water",
            "price": price,
            "currency": "USD",
            "stock_quantity": stock,
            "category": "kitchen",
            "brand": "Acme",
            "sku": f"SKU-{uuid.uuid4().hex[:12]}",
            **fields,
        },
    )
    assert status == 201, product
    return product


async def stock_of(http: aiohttp.ClientSession, product_id: int) -> int:
    status, product = await call(http, "GET", f"/api/products/{product_id}")
    assert status == 200, product
    return int(product["stock_quantity"])


class OrderStream:
    """Reads ``/api/orders/stream`` in the background and keeps every status event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.comments = 0
        self.connected = asyncio.Event()

    def statuses_of(self, order_id: int) -> list[str]:
        return [e["status"] for e in self.events if e["order_id"] == order_id]

    async def read(self, http: aiohttp.ClientSession, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        async with http.get("/api/orders/stream", headers=headers) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/event-stream")
            self.connected.set()
            event: dict[str, str] = {}
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("data:"):
                    event["data"] = line[5:].strip()
                elif not line and "data" in event:
                    self.events.append(json.loads(event.pop("data")))


@contextlib.asynccontextmanager
async def order_stream(http: aiohttp.ClientSession, token: str) -> AsyncIterator[OrderStream]:
    stream = OrderStream()
    task = asyncio.create_task(stream.read(http, token))
    try:
        async with asyncio.timeout(15):
            await stream.connected.wait()
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["add_product", "call", "login", "order_stream", "register", "stock_of"]
