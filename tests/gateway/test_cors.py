"""CORS from the allow-list: preflights answered by the gateway, headers on real answers."""

from __future__ import annotations

import aiohttp

from .support import unique
from .upstream import Upstream

ALLOWED = "http://localhost:3000"
STRANGER = "https://evil.example"


async def test_preflight_from_an_allowed_origin_is_answered_without_the_backend(
    gateway: str, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    name = unique()
    headers = {
        "Origin": ALLOWED,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with client.options(f"{gateway}/payment/{name}", headers=headers) as resp:
        assert resp.status == 204
        got = resp.headers
    assert got["Access-Control-Allow-Origin"] == ALLOWED
    assert got["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in got["Access-Control-Allow-Methods"]
    assert got["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert int(got["Access-Control-Max-Age"]) > 0
    assert "Origin" in got["Vary"]
    assert not any(name in path for path in backends["payments"].paths())


async def test_preflight_from_another_origin_is_refused_with_403(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    headers = {"Origin": STRANGER, "Access-Control-Request-Method": "GET"}
    async with client.options(f"{gateway}/auth/me", headers=headers) as resp:
        assert resp.status == 403
        assert (await resp.json())["code"] == "forbidden"
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_answers_to_an_allowed_origin_carry_cors_headers(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{gateway}/auth/{unique()}", headers={"Origin": ALLOWED}) as resp:
        assert resp.status == 200
        got = resp.headers
    assert got["Access-Control-Allow-Origin"] == ALLOWED
    assert got["Access-Control-Allow-Credentials"] == "true"
    assert "X-Request-ID" in got["Access-Control-Expose-Headers"]
    assert "Retry-After" in got["Access-Control-Expose-Headers"]
    # The UI pages lists with it.
    assert "X-Total-Count" in got["Access-Control-Expose-Headers"]
    assert got["Vary"] == "Origin"


async def test_errors_to_an_allowed_origin_carry_cors_headers_too(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{gateway}/payment/x", headers={"Origin": ALLOWED}) as resp:
        assert resp.status == 401
        assert resp.headers["Access-Control-Allow-Origin"] == ALLOWED


async def test_answers_to_another_origin_carry_no_cors_headers(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{gateway}/auth/{unique()}", headers={"Origin": STRANGER}) as resp:
        assert resp.status == 200
        assert not any(h.startswith("Access-Control-") for h in resp.headers)
