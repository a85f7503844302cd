"""Helpers for payments tests: a running app over a fresh database, tokens, table probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.payments.main import create_app
from shopmesh.payments.settings import Settings
from tests.support import serve_in_process

SECRET = "test-secret-0123456789-0123456789-abcdef"
TABLES = ("payment_transaction", "account", "idempotency_record", "outbox_message")
ALICE, BOB = 101, 202


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_enabled": False,
        "jwt_secret": SECRET,
    }
    return Settings(**(values | overrides))


def token_for(settings: Settings, user_id: int, *, role: str = "user") -> str:
    principal = Principal(user_id=user_id, username=f"user{user_id}", role=role)
    return issue_token(
        principal, secret=settings.jwt_secret, issuer=settings.jwt_issuer, ttl=timedelta(hours=1)
    )


@dataclass
class Payments:
    """A payments app served in process, with helpers to call it and look into its database."""

    client: httpx.AsyncClient
    settings: Settings
    app: Any

    def headers(self, user_id: int, *, role: str = "user", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(self.settings, user_id, role=role)}", **extra}

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
            "/api/payments/transactions/list", params=params, headers=self.headers(caller)
        )

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        db = self.app.runtime.db
        async with db.engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())

    async def counts(self) -> dict[str, int]:
        return {t: (await self.rows(f"SELECT count(*) FROM {t}"))[0][0] for t in TABLES}  # noqa: S608

    async def events(self) -> list[dict[str, Any]]:
        """Outbox rows in write order, the payload parsed, plus topic and key."""
        rows = await self.rows("SELECT topic, key, payload FROM outbox_message ORDER BY id")
        return [{"_topic": r.topic, "_key": r.key, **orjson.loads(r.payload)} for r in rows]


@asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[Payments]:
    settings = make_settings(database_url, **overrides)
    app = create_app(settings)
    async with serve_in_process(app) as client:
        yield Payments(client=client, settings=settings, app=app)
