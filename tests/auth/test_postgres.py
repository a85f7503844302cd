"""On PostgreSQL: the main flow with its outbox row, and what concurrency must not break."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import select

from shopmesh.auth.repository import UserAccount

from .support import refresh_token_of, running

pytestmark = pytest.mark.postgres

REFRESH = "/api/auth/refresh"


async def test_register_login_and_outbox_row_on_postgres(postgres_url: str, username: str) -> None:
    async with running(postgres_url) as auth:
        registered = await auth.register(username)
        login = await auth.login(username.upper())
        me = await auth.me(f"Bearer {login.json()['token']}")
        refreshed = await auth.with_cookie(REFRESH, refresh_token_of(login))
        events = [(r, p) for r, p in await auth.user_events() if p["username"] == username]

    assert registered.status_code == 201
    user_id = registered.json()["id"]
    assert (login.status_code, login.json()["id"]) == (200, user_id)
    assert me.json()["username"] == username
    assert (refreshed.status_code, refreshed.json()["id"]) == (200, user_id)
    assert len(events) == 1
    row, payload = events[0]
    assert (row.topic, row.key, row.event_type) == ("user-events", str(user_id), "user.registered")
    assert (payload["user_id"], payload["role"], payload["producer"]) == (user_id, "user", "auth")


async def test_two_instances_starting_together_create_one_admin(postgres_url: str) -> None:
    async with AsyncExitStack() as stack:
        instances = await asyncio.gather(
            *(stack.enter_async_context(running(postgres_url)) for _ in range(2))
        )
        admins = await instances[0].rows(
            select(UserAccount.username).where(UserAccount.role == "admin")
        )
        events = await instances[1].user_events()
        logins = [await auth.login("admin", "admin12345") for auth in instances]

    assert admins == [("admin",)]
    assert [p["username"] for _, p in events] == ["admin"]
    assert [login.status_code for login in logins] == [200, 200]
