"""Helpers for payments tests: the app over a fresh database, with its calls and probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from shopmesh.payments.main import create_app
from shopmesh.payments.settings import Settings
from tests import support
from tests.support import ServiceUnderTest, bearer, make_settings

TABLES = ("payment_transaction", "account", "idempotency_record", "outbox_message")
ALICE, BOB = 101, 202


class Payments(ServiceUnderTest):
    """The payments app served in process, called as a given user."""

    def headers(self, user_id: int, *, role: str = "user", **extra: str) -> dict[str, str]:
        return bearer(user_id, role=role, **extra)

    async def create(
        self, caller: int, amount: Any, *, key: str | None = None, **body: Any
    ) -> httpx.Response:
        extra = {"Idempotency-Key": key} if key is not None else {}
        return await self.client.post(
            "/api/payments/transactions",
            json={"amount": amount, **body},
            headers=self.headers(caller, **extra),
        )

    async def pay(self, user_id: int, *, key: str | None = None) -> httpx.Response:
        extra = {"Idempotency-Key": key} if key is not None else {}
        return await self.client.post(
            "/api/payments/transactions/pay", headers=self.headers(user_id, **extra)
        )

    async def list(self, caller: int, **params: Any) -> httpx.Response:
        return await self.client.get(
            "/api/payments/transactions", params=params, headers=self.headers(caller)
        )

    async def counts(self, *tables: str) -> dict[str, int]:
        return await super().counts(*(tables or TABLES))


@asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[Payments]:
    app = create_app(make_settings(Settings, database_url, **overrides))
    async with support.running(Payments, app) as payments:
        yield payments
