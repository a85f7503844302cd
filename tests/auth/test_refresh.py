"""Refresh cookie: attributes, rotation, reuse detection, expiry and logout."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from .support import (
    JWT_SECRET,
    STRONG_SECRET,
    Auth,
    refresh_token_of,
    running,
    set_cookie,
)

REFRESH = "/api/auth/refresh"
LOGOUT = "/api/auth/logout"


@pytest.mark.parametrize("how", ["register", "login"])
async def test_register_and_login_set_an_httponly_strict_refresh_cookie_for_every_path(
    auth: Auth, username: str, how: str
) -> None:
    registered = await auth.register(username)
    response = registered if how == "register" else await auth.login(username)

    value, attributes = set_cookie(response)

    assert len(value) >= 40
    assert attributes["httponly"] is True
    assert attributes["samesite"] == "Strict"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == str(14 * 24 * 3600)
    assert "secure" not in attributes  # development: plain http must work
    assert "domain" not in attributes


@pytest.mark.parametrize("how", ["register", "login", "refresh"])
async def test_answers_carrying_tokens_are_never_cached(
    auth: Auth, username: str, how: str
) -> None:
    response = await auth.register(username)
    if how == "login":
        response = await auth.login(username)
    elif how == "refresh":
        response = await auth.with_cookie(REFRESH, refresh_token_of(response))
    assert response.status_code in (200, 201), response.text
    assert response.headers["cache-control"] == "no-store"


async def test_refresh_cookie_max_age_follows_the_setting(sqlite_url: str, username: str) -> None:
    async with running(sqlite_url, refresh_token_ttl_seconds=3600) as auth:
        _, attributes = set_cookie(await auth.register(username))

    assert attributes["max-age"] == "3600"


async def test_refresh_cookie_is_secure_in_production(sqlite_url: str, username: str) -> None:
    async with running(
        sqlite_url, environment="production", jwt_secret=STRONG_SECRET, admin_password="s" * 32
    ) as auth:
        _, attributes = set_cookie(await auth.register(username))

    assert attributes["secure"] is True


async def test_only_the_hash_of_the_refresh_token_is_stored(auth: Auth, username: str) -> None:
    refresh_token = refresh_token_of(await auth.register(username))

    stored = await auth.stored_refresh_hashes()

    assert stored == [hashlib.sha256(refresh_token.encode()).hexdigest()]


async def test_refresh_rotates_the_cookie_and_issues_a_new_access_token(
    auth: Auth, username: str
) -> None:
    registered = await auth.register(username)
    first = refresh_token_of(registered)

    response = await auth.with_cookie(REFRESH, first)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["username"], body["role"]) == (
        registered.json()["id"],
        username,
        "user",
    )
    claims = jwt.decode(
        body["token"], JWT_SECRET, algorithms=["HS256"], issuer=auth.settings.jwt_issuer
    )
    assert claims["sub"] == str(body["id"])
    second, attributes = set_cookie(response)
    assert second != first
    assert attributes["httponly"] is True
    assert attributes["path"] == "/"
    assert (await auth.with_cookie(REFRESH, second)).status_code == 200


async def test_reusing_a_rotated_refresh_token_after_the_grace_window_revokes_the_session(
    auth: Auth, username: str
) -> None:
    first = refresh_token_of(await auth.register(username))
    second = refresh_token_of(await auth.with_cookie(REFRESH, first))
    other_session = refresh_token_of(await auth.login(username))
    await auth.age_refresh_use(first, auth.settings.refresh_reuse_grace_seconds + 1)

    replay = await auth.with_cookie(REFRESH, first)

    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_token_reused"
    assert set_cookie(replay)[1]["max-age"] == "0"
    # The thief's (or victim's) newer token of that session is dead too...
    after = await auth.with_cookie(REFRESH, second)
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_refresh_token"
    # ...but a separate login of the same user is another session and keeps working.
    assert (await auth.with_cookie(REFRESH, other_session)).status_code == 200


async def test_the_same_cookie_again_within_the_grace_window_gets_the_same_new_cookie(
    auth: Auth, username: str
) -> None:
    registered = await auth.register(username)
    first = refresh_token_of(registered)
    answer = await auth.with_cookie(REFRESH, first)
    second = refresh_token_of(answer)

    again = await auth.with_cookie(REFRESH, first)

    assert again.status_code == 200, again.text
    assert refresh_token_of(again) == second
    assert again.json()["id"] == registered.json()["id"]
    claims = jwt.decode(
        again.json()["token"], JWT_SECRET, algorithms=["HS256"], issuer=auth.settings.jwt_issuer
    )
    assert claims["sub"] == str(registered.json()["id"])
    # Nothing was revoked: the shared new cookie goes on working, and rotates as usual.
    third = await auth.with_cookie(REFRESH, second)
    assert third.status_code == 200
    assert refresh_token_of(third) not in (first, second)


async def test_a_late_copy_within_the_window_is_answered_with_the_current_cookie(
    auth: Auth, username: str
) -> None:
    # Tab A refreshed twice in a row while tab B's request with the first cookie was slow.
    first = refresh_token_of(await auth.register(username))
    second = refresh_token_of(await auth.with_cookie(REFRESH, first))
    third = refresh_token_of(await auth.with_cookie(REFRESH, second))

    late = await auth.with_cookie(REFRESH, first)

    assert late.status_code == 200
    assert refresh_token_of(late) == third


async def test_a_grace_window_of_zero_treats_any_second_use_as_theft(
    sqlite_url: str, username: str
) -> None:
    async with running(sqlite_url, refresh_reuse_grace_seconds=0) as auth:
        first = refresh_token_of(await auth.register(username))
        second = refresh_token_of(await auth.with_cookie(REFRESH, first))

        replay = await auth.with_cookie(REFRESH, first)

        assert replay.json()["code"] == "refresh_token_reused"
        assert (await auth.with_cookie(REFRESH, second)).status_code == 401


async def test_the_grace_window_does_not_bring_back_a_session_that_was_logged_out(
    auth: Auth, username: str
) -> None:
    first = refresh_token_of(await auth.register(username))
    second = refresh_token_of(await auth.with_cookie(REFRESH, first))
    assert (await auth.with_cookie(LOGOUT, second)).status_code == 204

    response = await auth.with_cookie(REFRESH, first)

    assert response.status_code == 401
    assert set_cookie(response)[1]["max-age"] == "0"


async def test_refresh_without_a_cookie_is_401_json(auth: Auth) -> None:
    response = await auth.with_cookie(REFRESH, None)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    assert {"error", "code", "request_id"} <= set(response.json())


async def test_refresh_with_an_unknown_cookie_is_401(auth: Auth) -> None:
    response = await auth.with_cookie(REFRESH, "made-up-token-value")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    assert set_cookie(response)[1]["max-age"] == "0"


async def test_refresh_with_an_expired_cookie_is_401(auth: Auth, username: str) -> None:
    refresh_token = refresh_token_of(await auth.register(username))
    await auth.expire_refresh_token(refresh_token)

    response = await auth.with_cookie(REFRESH, refresh_token)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


async def test_logout_revokes_the_session_and_clears_the_cookie(auth: Auth, username: str) -> None:
    first = refresh_token_of(await auth.register(username))
    second = refresh_token_of(await auth.with_cookie(REFRESH, first))
    other_session = refresh_token_of(await auth.login(username))

    response = await auth.with_cookie(LOGOUT, second)

    assert response.status_code == 204
    assert response.content == b""
    value, attributes = set_cookie(response)
    assert value == '""'
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/"
    assert attributes["httponly"] is True
    revoked = await auth.with_cookie(REFRESH, second)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "invalid_refresh_token"
    assert (await auth.with_cookie(REFRESH, other_session)).status_code == 200


@pytest.mark.parametrize("cookie", [None, "unknown-token"], ids=["no-cookie", "unknown"])
async def test_logout_without_a_valid_cookie_is_harmless(auth: Auth, cookie: str | None) -> None:
    before = await auth.counts()

    response = await auth.with_cookie(LOGOUT, cookie)

    assert response.status_code == 204
    assert set_cookie(response)[1]["max-age"] == "0"
    assert await auth.counts() == before


async def test_a_browser_keeps_its_session_through_refresh_and_loses_it_at_logout(
    auth: Auth, username: str
) -> None:
    # The client's cookie jar plays the browser: it stores and sends the cookie by itself.
    await auth.register(username)

    for _ in range(3):
        assert (await auth.client.post(REFRESH)).status_code == 200
    assert (await auth.client.post(LOGOUT)).status_code == 204
    assert (await auth.client.post(REFRESH)).status_code == 401
