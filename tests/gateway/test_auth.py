"""The gateway's own JWT check on user and admin routes."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from .support import MakeToken, unique
from .upstream import Upstream


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    payload = _b64({"sub": "1", "role": "admin", "iss": "shopmesh-auth", "exp": 4102444800})
    return f"{header}.{payload}.{signature}"


def _unsigned() -> str:
    header = _b64({"alg": "none", "typ": "JWT"})
    payload = _b64({"sub": "1", "iat": 1, "iss": "shopmesh-auth", "exp": 4102444800})
    return f"{header}.{payload}."


async def _get(
    client: aiohttp.ClientSession, url: str, authorization: str | None
) -> tuple[int, CIMultiDictProxy[str], Any]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with client.get(url, headers=headers) as resp:
        return resp.status, resp.headers, await resp.json()


async def test_user_route_without_a_token_is_401_with_a_challenge(
    gateway: str, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    name = unique()
    status, headers, body = await _get(client, f"{gateway}/payment/{name}", None)
    assert status == 401
    assert headers["WWW-Authenticate"] == "Bearer"
    assert body["code"] == "unauthorized"
    assert body["request_id"] == headers["X-Request-ID"]
    assert not any(name in path for path in backends["payments"].paths())


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("garbage", "invalid_token"),
        ("expired", "token_expired"),
        ("tampered", "invalid_token"),
        ("alg_none", "invalid_token"),
        ("wrong_issuer", "invalid_token"),
        ("wrong_secret", "invalid_token"),
        ("basic_scheme", "unauthorized"),
    ],
)
async def test_user_route_refuses_bad_tokens(
    gateway: str, client: aiohttp.ClientSession, make_token: MakeToken, case: str, code: str
) -> None:
    authorization = {
        "garbage": "Bearer not.a.jwt",
        "expired": f"Bearer {make_token(ttl=timedelta(minutes=-5))}",
        "tampered": f"Bearer {_tampered(make_token())}",
        "alg_none": f"Bearer {_unsigned()}",
        "wrong_issuer": f"Bearer {make_token(issuer='someone-else')}",
        "wrong_secret": f"Bearer {make_token(secret='another-secret-of-sufficient-length-xyz')}",
        "basic_scheme": "Basic dXNlcjpwYXNz",
    }[case]
    status, headers, body = await _get(client, f"{gateway}/payment/{unique()}", authorization)
    assert status == 401
    assert body["code"] == code
    assert "WWW-Authenticate" in headers


async def test_valid_bearer_token_is_forwarded_unchanged_with_the_user_logged(
    gateway: str,
    client: aiohttp.ClientSession,
    backends: dict[str, Upstream],
    make_token: MakeToken,
) -> None:
    token = make_token(user_id=4242)
    name = unique()
    status, _, body = await _get(client, f"{gateway}/api/payments/{name}", f"Bearer {token}")
    assert status == 200
    assert body["path"] == f"/api/payments/{name}"
    seen = next(s for s in backends["payments"].seen if s.path.endswith(name))
    assert seen.header("authorization") == f"Bearer {token}"


async def test_bare_token_is_accepted(
    gateway: str, client: aiohttp.ClientSession, make_token: MakeToken
) -> None:
    status, _, _ = await _get(client, f"{gateway}/auth/me", make_token())
    assert status == 200


async def test_admin_route_refuses_a_user_token_with_403(
    gateway: str, client: aiohttp.ClientSession, make_token: MakeToken
) -> None:
    status, _, body = await _get(client, f"{gateway}/analytics/users", f"Bearer {make_token()}")
    assert status == 403
    assert body["code"] == "forbidden"


async def test_admin_route_admits_an_admin(
    gateway: str, client: aiohttp.ClientSession, make_token: MakeToken
) -> None:
    token = make_token(role="admin")
    status, _, body = await _get(client, f"{gateway}/api/analytics/users", f"Bearer {token}")
    assert status == 200
    assert body["service"] == "analytics"


async def test_public_stats_need_no_token_though_the_rest_of_analytics_does(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    assert (await _get(client, f"{gateway}/analytics/stats", None))[0] == 200
    assert (await _get(client, f"{gateway}/analytics/statsx", None))[0] == 401
