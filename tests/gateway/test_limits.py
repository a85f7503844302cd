"""Rate limits per client address, per user and on login."""

from __future__ import annotations

from typing import Any

import aiohttp

from .support import MakeToken, StartGateway, unique
from .upstream import Upstream


async def _status(client: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> int:
    async with client.request(method, url, **kwargs) as resp:
        return resp.status


async def test_client_over_its_limit_gets_429_with_retry_after_and_ratelimit_headers(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway(rate_limit_ip="3/minute")
    remaining = []
    for _ in range(3):
        async with client.get(f"{gateway}/auth/{unique()}") as resp:
            assert resp.status == 200
            assert resp.headers["RateLimit-Limit"] == "3"
            remaining.append(int(resp.headers["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    async with client.get(f"{gateway}/auth/{unique()}") as resp:
        assert resp.status == 429
        body = await resp.json()
        headers = resp.headers
    assert body["code"] == "rate_limited"
    assert body["request_id"] == headers["X-Request-ID"]
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers["RateLimit-Limit"] == "3"
    assert headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["RateLimit-Reset"]) <= 60


async def test_probes_are_not_rate_limited(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway(rate_limit_ip="1/minute")
    for _ in range(3):
        assert await _status(client, "GET", f"{gateway}/health") == 200


async def test_each_user_has_a_limit_of_their_own(
    start_gateway: StartGateway, client: aiohttp.ClientSession, make_token: MakeToken
) -> None:
    gateway = await start_gateway(rate_limit_user="2/minute")
    ann, bob = make_token(user_id=1), make_token(user_id=2)
    url = f"{gateway}/payment/transactions/list"
    statuses = [
        await _status(client, "GET", url, headers={"Authorization": f"Bearer {token}"})
        for token in (ann, ann, ann, bob)
    ]
    assert statuses == [200, 200, 429, 200]


async def test_login_is_limited_per_client_address(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway(rate_limit_login="2/minute")
    url = f"{gateway}/auth/login"
    statuses = [
        await _status(client, "POST", url, json={"username": unique(), "password": "x"})
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    # Other routes of the same client are not affected by the login class.
    assert await _status(client, "POST", f"{gateway}/auth/register", json={}) == 200


async def test_login_is_limited_per_username_across_addresses(
    start_gateway: StartGateway, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    gateway = await start_gateway(rate_limit_login="2/minute", trust_forwarded=True)
    url = f"{gateway}/api/auth/login"
    user = unique()
    statuses = [
        await _status(
            client,
            "POST",
            url,
            json={"username": name, "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{index}"},
        )
        for index, name in enumerate([user, user.upper(), f"  {user} "])
    ]
    assert statuses == [200, 200, 429]
    seen = [s for s in backends["auth"].seen if s.path == "/api/auth/login"][-1]
    assert seen.header("x-forwarded-for") == "203.0.113.1, 127.0.0.1"


async def test_login_with_a_body_that_is_not_json_is_still_forwarded(
    start_gateway: StartGateway, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    gateway = await start_gateway(rate_limit_login="5/minute")
    async with client.post(f"{gateway}/auth/login", data=b"{not json") as resp:
        assert resp.status == 200
        assert resp.headers["RateLimit-Limit"] == "5"
    assert backends["auth"].seen[-1].body == b"{not json"


async def test_a_login_body_larger_than_the_buffer_is_read_whole_and_forwarded(
    start_gateway: StartGateway, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    # Login and register bodies are read whole (their limits look inside), past the
    # 64 KiB the gateway otherwise holds before it streams.
    gateway = await start_gateway(rate_limit_login="5/minute", buffer_body_bytes=1024)
    name = unique()
    body = b'{"username": "%s", "padding": "%s"}' % (name.encode(), b"p" * 200_000)
    async with client.post(f"{gateway}/auth/login?{name}", data=body) as resp:
        assert resp.status == 200
    [seen] = [s for s in backends["auth"].seen if s.query == name]
    assert seen.body == body
