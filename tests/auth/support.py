"""Helpers for auth tests: a running auth app on a given database, rows, cookies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, update

from shopmesh.auth.domain import hash_token
from shopmesh.auth.main import create_app
from shopmesh.auth.repository import RefreshTokenRow, UserAccount
from shopmesh.auth.settings import Settings
from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.kit.tables import outbox_message
from tests import support
from tests.support import SECRET as JWT_SECRET
from tests.support import ServiceUnderTest

STRONG_SECRET = "a-strong-production-secret-0123456789-xyz"
PASSWORD = "correct-horse-9"
COOKIE = "shopmesh_refresh"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"bcrypt_rounds": 4, "environment": "test"}
    return support.make_settings(Settings, database_url, **(values | overrides))


class Auth(ServiceUnderTest):
    """A running auth app, its client (whose cookie jar acts like a browser) and its database."""

    async def register(self, username: str, password: str = PASSWORD) -> httpx.Response:
        body = {"username": username, "password": password}
        return await self.client.post("/api/auth/register", json=body)

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        body = {"username": username, "password": password}
        return await self.client.post("/api/auth/login", json=body)

    async def with_cookie(self, path: str, refresh_token: str | None) -> httpx.Response:
        """POST ``path`` presenting exactly ``refresh_token`` as the cookie (or none)."""
        self.client.cookies.clear()
        headers = {"Cookie": f"{COOKIE}={refresh_token}"} if refresh_token else {}
        return await self.client.post(path, headers=headers)

    async def me(self, authorization: str | None) -> httpx.Response:
        headers = {"Authorization": authorization} if authorization else {}
        return await self.client.get("/api/auth/me", headers=headers)

    def token_for(self, user_id: int, username: str = "someone", **kwargs: Any) -> str:
        options: dict[str, Any] = {
            "secret": JWT_SECRET,
            "issuer": self.settings.jwt_issuer,
            "ttl": timedelta(hours=1),
        } | kwargs
        return issue_token(Principal(user_id=user_id, username=username), **options)

    async def scalar(self, query: Any) -> Any:
        async with self.runtime.db.engine.connect() as connection:
            return (await connection.execute(query)).scalar_one()

    async def rows(self, query: Any) -> list[Any]:  # type: ignore[override]  # SQLAlchemy queries here
        async with self.runtime.db.engine.connect() as connection:
            return list((await connection.execute(query)).all())

    async def counts(self) -> tuple[int, int, int]:  # type: ignore[override]
        """How many users, refresh tokens and outbox rows exist."""
        tables = (UserAccount, RefreshTokenRow, outbox_message)
        [row] = await self.rows(
            select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
        )
        return (row[0], row[1], row[2])

    async def user_events(self) -> list[tuple[Any, dict[str, Any]]]:
        """The outbox rows of ``user.registered`` events, with their decoded payloads."""
        rows = await self.rows(
            select(outbox_message)
            .where(outbox_message.c.event_type == "user.registered")
            .order_by(outbox_message.c.id)
        )
        return [(row, orjson.loads(row.payload)) for row in rows]

    async def stored_refresh_hashes(self) -> list[str]:
        """The stored token hashes."""
        return [row.token_hash for row in await self.rows(select(RefreshTokenRow.token_hash))]

    async def expire_refresh_token(self, refresh_token: str) -> None:
        await self._update_token(refresh_token, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    async def age_refresh_use(self, refresh_token: str, seconds: float) -> None:
        """Move the moment ``refresh_token`` was exchanged ``seconds`` into the past."""
        used_at = await self.scalar(
            select(RefreshTokenRow.used_at).where(
                RefreshTokenRow.token_hash == hash_token(refresh_token)
            )
        )
        assert used_at is not None, "the token was not exchanged"
        await self._update_token(refresh_token, used_at=used_at - timedelta(seconds=seconds))

    async def _update_token(self, refresh_token: str, **values: Any) -> None:
        async with self.runtime.db.engine.begin() as connection:
            await connection.execute(
                update(RefreshTokenRow)
                .where(RefreshTokenRow.token_hash == hash_token(refresh_token))
                .values(**values)
            )


@asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[Auth]:
    async with support.running(Auth, create_app(make_settings(database_url, **overrides))) as auth:
        yield auth


def set_cookie(response: httpx.Response) -> tuple[str, dict[str, str | bool]]:
    """The refresh cookie's value and attributes (lower-cased names) from ``Set-Cookie``."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    first, *attributes = headers[0].split("; ")
    value = first.split("=", 1)[1]
    parsed: dict[str, str | bool] = {}
    for attribute in attributes:
        name, sep, attr_value = attribute.partition("=")
        parsed[name.lower()] = attr_value if sep else True
    return value, parsed


def refresh_token_of(response: httpx.Response) -> str:
    value, _ = set_cookie(response)
    assert value
    assert value != '""'
    return value
