"""Concurrent requests on SQLite and PostgreSQL: a name is taken once, a token used once."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from shopmesh.auth.repository import UserAccount

from .support import refresh_token_of, running

REFRESH = "/api/auth/refresh"


async def test_concurrent_registrations_of_one_name_create_one_account(
    database_url: str, username: str
) -> None:
    spellings = [username, username.upper(), username.capitalize()] * 4

    async with running(database_url) as auth:
        responses = await asyncio.gather(*(auth.register(name) for name in spellings))
        accounts = await auth.rows(
            select(UserAccount.id).where(UserAccount.username_key == username.lower())
        )
        events = [p for _, p in await auth.user_events() if p["username"].lower() == username]

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (len(spellings) - 1)
    assert all(r.json()["code"] == "username_taken" for r in responses if r.status_code == 409)
    assert len(accounts) == 1
    assert len(events) == 1


async def test_concurrent_refreshes_with_one_token_let_one_through_and_end_the_session(
    database_url: str, username: str
) -> None:
    async with running(database_url) as auth:
        refresh_token = refresh_token_of(await auth.register(username))
        cookie = {"Cookie": f"shopmesh_refresh={refresh_token}"}
        auth.client.cookies.clear()
        responses = await asyncio.gather(
            *(auth.client.post(REFRESH, headers=cookie) for _ in range(4))
        )
        winners = [r for r in responses if r.status_code == 200]
        assert len(winners) == 1
        assert sorted(r.status_code for r in responses) == [200, 401, 401, 401]
        # The token was presented again after its use: the new one is revoked as well.
        after = await auth.with_cookie(REFRESH, refresh_token_of(winners[0]))
        assert after.status_code == 401
