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


async def test_concurrent_refreshes_with_one_cookie_all_get_the_same_new_cookie(
    database_url: str, username: str
) -> None:
    # Four tabs opened at once, each trading the browser's one refresh cookie.
    async with running(database_url) as auth:
        refresh_token = refresh_token_of(await auth.register(username))
        cookie = {"Cookie": f"shopmesh_refresh={refresh_token}"}
        auth.client.cookies.clear()
        responses = await asyncio.gather(
            *(auth.client.post(REFRESH, headers=cookie) for _ in range(4))
        )
        assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
        new_cookies = {refresh_token_of(r) for r in responses}
        assert len(new_cookies) == 1
        assert refresh_token not in new_cookies
        # The shared new cookie is alive and rotates once more.
        after = await auth.with_cookie(REFRESH, new_cookies.pop())
        assert after.status_code == 200, after.text


async def test_concurrent_reuse_after_the_grace_window_revokes_the_session(
    database_url: str, username: str
) -> None:
    async with running(database_url) as auth:
        first = refresh_token_of(await auth.register(username))
        second = refresh_token_of(await auth.with_cookie(REFRESH, first))
        await auth.age_refresh_use(first, auth.settings.refresh_reuse_grace_seconds + 1)
        cookie = {"Cookie": f"shopmesh_refresh={first}"}
        auth.client.cookies.clear()
        responses = await asyncio.gather(
            *(auth.client.post(REFRESH, headers=cookie) for _ in range(3))
        )
        assert [r.status_code for r in responses] == [401] * 3
        assert {r.json()["code"] for r in responses} <= {
            "refresh_token_reused",
            "invalid_refresh_token",
        }
        assert (await auth.with_cookie(REFRESH, second)).status_code == 401
