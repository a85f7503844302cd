"""Helpers for products tests: a running app over a fresh database, tokens, factories, probes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from shopmesh.kit.jwt import SERVICE_ROLE
from shopmesh.products.main import create_app
from shopmesh.products.settings import Settings
from tests import support
from tests.support import ServiceUnderTest, bearer

TABLES = ("product", "stock_reservation", "outbox_message", "processed_event")
PRODUCTS = "/api/products"
RESERVATIONS = "/api/products/reservations"
ADMIN, USER, SERVICE = "admin", "user", SERVICE_ROLE


def make_settings(database_url: str, **overrides: Any) -> Settings:
    return support.make_settings(Settings, database_url, **overrides)


def make_product(**overrides: Any) -> dict[str, Any]:
    """A valid create body with a unique sku; ``overrides`` replace (or, as None, drop) fields."""
    body: dict[str, Any] = {
        "name": "Mechanical keyboard",
        "description": "Tenkeyless, brown switches",
        "price": 49.99,
        "currency": "USD",
        "stock_quantity": 10,
        "category": "Peripherals",
        "brand": "Keyco",
        "sku": f"KB-{uuid.uuid4().hex[:12]}",
        "images": ["https://img.example.com/kb.jpg"],
        "tags": ["keyboard", "usb"],
    }
    body.update(overrides)
    return body


def new_reservation_id() -> str:
    return str(uuid.uuid4())


def line(product_id: int, quantity: int = 1, reservation_id: str | None = None) -> dict[str, Any]:
    return {
        "reservation_id": reservation_id or new_reservation_id(),
        "product_id": product_id,
        "quantity": quantity,
    }


class Products(ServiceUnderTest):
    """A products app served in process, with helpers to call it and look into its database."""

    def headers(self, role: str | None = ADMIN, **extra: str) -> dict[str, str]:
        if role is None:
            return dict(extra)
        return bearer(1, role=role, **extra)

    async def create(self, role: str | None = ADMIN, **overrides: Any) -> httpx.Response:
        return await self.client.post(
            PRODUCTS, json=make_product(**overrides), headers=self.headers(role)
        )

    async def new(self, **overrides: Any) -> dict[str, Any]:
        """Create a product as admin and return its JSON."""
        response = await self.create(**overrides)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def reserve(self, *lines: dict[str, Any], role: str = SERVICE) -> httpx.Response:
        return await self.client.post(
            RESERVATIONS, json={"lines": list(lines)}, headers=self.headers(role)
        )

    async def release(self, reservation_id: str, *, role: str = SERVICE) -> httpx.Response:
        return await self.client.post(
            f"{RESERVATIONS}/{reservation_id}/release", headers=self.headers(role)
        )

    async def stock(self, product_id: int) -> int:
        [(quantity,)] = await self.rows(
            "SELECT stock_quantity FROM product WHERE id = :id", id=product_id
        )
        return int(quantity)

    async def counts(self, *tables: str) -> dict[str, int]:
        return await super().counts(*(tables or TABLES))


@asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[Products]:
    app = create_app(make_settings(database_url, **overrides))
    async with support.running(Products, app) as products:
        yield products
