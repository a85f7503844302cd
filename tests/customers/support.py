"""Helpers for customers tests: a running app over a fresh database, tokens, bodies, probes."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from shopmesh.customers.main import create_app
from shopmesh.customers.settings import Settings
from shopmesh.kit.events import EventEnvelope
from tests import support
from tests.support import ServiceUnderTest, bearer

BASE = "/api/customers"
ME = f"{BASE}/me"
ALICE, BOB, ADMIN = 101, 202, 1


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"consumer_max_attempts": 2, "consumer_retry_backoff": 0.01}
    return support.make_settings(Settings, database_url, **(values | overrides))


def auth(user_id: int, *, role: str = "user") -> dict[str, str]:
    return bearer(user_id, role=role)


ADMIN_HEADERS = auth(ADMIN, role="admin")


def new_user_id() -> int:
    return random.randint(1_000, 2**31)


def profile(**overrides: Any) -> dict[str, Any]:
    """A valid full profile body with a unique email."""
    body: dict[str, Any] = {
        "name": "Ann Lee",
        "email": f"ann.{uuid.uuid4().hex[:8]}@example.org",
        "address": "1 Main Street",
        "city": "Hyderabad",
        "mobile": "+91 (40) 1234-5678",
        "preferences": {"newsletter": "weekly", "language": "en"},
        "location": "17.385,78.486",
        "interests": ["tea", "books"],
        "sex": "Female",
    }
    return {**body, **overrides}


def registered(
    *, user_id: int, username: str = "newbie", event_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A ``user.registered`` payload in the shape auth sends it."""
    now = datetime.now(UTC).isoformat()
    payload: dict[str, Any] = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": "user.registered",
        "occurred_at": now,
        "producer": "auth",
        "user_id": user_id,
        "username": username,
        "role": "user",
        "registered_at": now,
    }
    return {**payload, **overrides}


def envelope(payload: dict[str, Any]) -> EventEnvelope:
    """What the consumer hands a handler for this payload."""
    return EventEnvelope.parse(orjson.dumps(payload), topic="user-events")


class Customers(ServiceUnderTest):
    """A customers app served in process, with helpers to call it and look into its database."""

    async def put_me(self, user_id: int, body: Any) -> httpx.Response:
        return await self.client.put(ME, json=body, headers=auth(user_id))

    async def me(self, user_id: int) -> httpx.Response:
        return await self.client.get(ME, headers=auth(user_id))

    async def create(self, body: Any, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(BASE, json=body, headers=headers or ADMIN_HEADERS)

    async def make(self, user_id: int, **overrides: Any) -> dict[str, Any]:
        """Create a profile for ``user_id`` (as an administrator) and return it."""
        response = await self.create({"user_id": user_id, **profile(**overrides)})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def count(self) -> int:
        return int((await self.rows("SELECT count(*) FROM customer"))[0][0])

    async def snapshot(self) -> list[Any]:
        """Every customer row, to prove a refused request changed nothing."""
        return await self.rows("SELECT * FROM customer ORDER BY id")


@asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[Customers]:
    app = create_app(make_settings(database_url, **overrides))
    async with support.running(Customers, app) as customers:
        yield customers
