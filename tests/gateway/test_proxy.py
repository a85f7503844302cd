"""Forwarding through the gateway on real sockets: paths, headers, bodies, streams, failures."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from yarl import URL

from .support import METRICS_URLS, MakeToken, StartGateway, free_port, unique
from .upstream import Upstream

STREAM_WAIT = 10  # seconds; a safety net so a broken stream fails the test instead of hanging it


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_public_alias_is_rewritten_and_keeps_the_query_string(
    gateway: str, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    async with client.get(f"{gateway}/analytics/stats?window=7d&user_id=3") as resp:
        assert resp.status == 200
        data = await resp.json()
    assert data["service"] == "analytics"
    assert data["path"] == "/api/analytics/stats"
    assert data["query"] == "window=7d&user_id=3"


async def test_user_route_is_rewritten_to_the_canonical_path(
    gateway: str,
    client: aiohttp.ClientSession,
    backends: dict[str, Upstream],
    make_token: MakeToken,
) -> None:
    name = unique()
    url = f"{gateway}/payment/transactions/{name}"
    async with client.post(url, json={"amount": 12.5}, headers=bearer(make_token())) as resp:
        assert resp.status == 200
        data = await resp.json()
    assert data["service"] == "payments"
    assert data["path"] == f"/api/payments/transactions/{name}"
    seen = backends["payments"].seen[-1]
    assert seen.method == "POST"
    assert seen.body == b'{"amount": 12.5}'


async def test_percent_encoding_in_the_path_reaches_the_backend_unchanged(
    gateway: str, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    name = unique()
    url = f"{gateway}/auth/x%2F{name}%20y"
    async with client.get(URL(url, encoded=True)) as resp:
        assert resp.status == 200
    seen = next(s for s in backends["auth"].seen if name in s.raw_path)
    assert seen.raw_path == f"/api/auth/x%2F{name}%20y"


async def test_unknown_path_is_a_json_404(gateway: str, client: aiohttp.ClientSession) -> None:
    async with client.get(f"{gateway}/nowhere/{unique()}") as resp:
        assert resp.status == 404
        data = await resp.json()
    assert data["code"] == "not_found"
    assert data["request_id"] == resp.headers["X-Request-ID"]


async def test_dot_segments_are_refused(gateway: str, client: aiohttp.ClientSession) -> None:
    url = URL(f"{gateway}/auth/../api/analytics/users", encoded=True)
    async with client.get(url) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "bad_request"


async def test_request_id_is_generated_echoed_and_forwarded(
    gateway: str, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    name = unique()
    async with client.get(f"{gateway}/auth/{name}") as resp:
        request_id = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    seen = next(s for s in backends["auth"].seen if s.path.endswith(name))
    assert seen.header("x-request-id") == request_id


async def test_a_sane_incoming_request_id_is_kept_and_an_unsafe_one_replaced(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{gateway}/auth/{unique()}", headers={"X-Request-ID": "abc-123"}) as r:
        assert r.headers["X-Request-ID"] == "abc-123"
    async with client.get(f"{gateway}/auth/{unique()}", headers={"X-Request-ID": "a b<c>"}) as r:
        assert r.headers["X-Request-ID"] != "a b<c>"


async def test_headers_forwarded_and_hop_by_hop_ones_stripped(
    gateway: str, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    name = unique()
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {
        "traceparent": traceparent,
        "tracestate": "shop=1",
        "Authorization": "Bearer passed-through-on-public-routes",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "secret",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic eA==",
        "TE": "trailers",
        "X-Forwarded-For": "6.6.6.6",
    }
    async with client.get(f"{gateway}/auth/{name}", headers=headers) as resp:
        assert resp.status == 200
    seen = next(s for s in backends["auth"].seen if s.path.endswith(name))
    assert seen.header("traceparent") == traceparent
    assert seen.header("tracestate") == "shop=1"
    assert seen.header("authorization") == "Bearer passed-through-on-public-routes"
    for hop in ("x-hop", "keep-alive", "proxy-authorization", "te"):
        assert seen.header(hop) is None, hop
    assert seen.header("x-forwarded-for") == "127.0.0.1"  # the spoofed value is not trusted
    assert seen.header("x-forwarded-proto") == "http"
    assert seen.header("x-forwarded-host") == gateway.removeprefix("http://")
    assert seen.header("host") == backends["auth"].url.removeprefix("http://")
    assert seen.header("accept-encoding") == "gzip, deflate"  # aiohttp's default, not ours


async def test_every_set_cookie_header_is_passed_back(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.post(f"{gateway}/auth/cookies") as resp:
        assert resp.status == 200
        cookies = resp.headers.getall("Set-Cookie")
    assert cookies == ["a=1; Path=/", "refresh=xyz; HttpOnly"]


async def test_event_stream_is_relayed_as_it_is_produced(
    gateway: str,
    client: aiohttp.ClientSession,
    backends: dict[str, Upstream],
    make_token: MakeToken,
) -> None:
    payments = backends["payments"]
    payments.release.clear()
    payments.stream_closed.clear()
    url = f"{gateway}/payment/{unique()}/events"
    async with client.get(url, headers=bearer(make_token())) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), STREAM_WAIT)
        # The backend holds the second event back until released: the first came through alone.
        assert first == b"data: one\n\n"
        assert not payments.release.is_set()
        payments.release.set()
        second = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), STREAM_WAIT)
        assert second == b"data: two\n\n"
        assert await resp.read() == b""


async def test_client_leaving_an_event_stream_closes_the_upstream_stream(
    gateway: str,
    client: aiohttp.ClientSession,
    backends: dict[str, Upstream],
    make_token: MakeToken,
) -> None:
    payments = backends["payments"]
    payments.release.clear()
    payments.stream_closed.clear()
    url = f"{gateway}/payment/{unique()}/events"
    resp = await client.get(url, headers=bearer(make_token()))
    assert await asyncio.wait_for(resp.content.readuntil(b"\n\n"), STREAM_WAIT) == b"data: one\n\n"
    resp.close()  # hang up mid-stream
    await asyncio.wait_for(payments.stream_closed.wait(), STREAM_WAIT)
    assert not payments.release.is_set()


async def test_body_over_the_limit_by_content_length_never_reaches_the_backend(
    start_gateway: StartGateway, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    gateway = await start_gateway(max_body_bytes=1024)
    name = unique()
    async with client.post(f"{gateway}/auth/{name}", data=b"x" * 4096) as resp:
        assert resp.status == 413
        assert (await resp.json())["code"] == "payload_too_large"
    assert not any(path.endswith(name) for path in backends["auth"].paths())


async def test_chunked_body_over_the_limit_is_cut_off_with_413(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway(max_body_bytes=1024)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 512

    async with client.post(f"{gateway}/auth/{unique()}", data=chunks()) as resp:
        assert resp.status == 413
        assert (await resp.json())["code"] == "payload_too_large"


async def test_bodies_within_the_limit_are_streamed_whole(
    start_gateway: StartGateway, client: aiohttp.ClientSession, backends: dict[str, Upstream]
) -> None:
    gateway = await start_gateway(max_body_bytes=64 * 1024, buffer_body_bytes=1024)

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(10):
            yield bytes([65 + index]) * 3000

    expected = b"".join(bytes([65 + index]) * 3000 for index in range(10))
    name = unique()
    async with client.post(f"{gateway}/auth/{name}/chunked", data=chunks()) as resp:
        assert resp.status == 200
    async with client.post(f"{gateway}/auth/{name}/sized", data=expected) as resp:
        assert resp.status == 200
    by_path = {s.path: s for s in backends["auth"].seen if name in s.path}
    chunked, sized = by_path[f"/api/auth/{name}/chunked"], by_path[f"/api/auth/{name}/sized"]
    assert chunked.body == expected
    assert sized.body == expected
    assert sized.header("content-length") == str(len(expected))


async def test_unreachable_backend_is_a_json_502(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway(upstreams={"auth": [f"http://127.0.0.1:{free_port()}"]})
    async with client.get(f"{gateway}/auth/{unique()}") as resp:
        assert resp.status == 502
        data = await resp.json()
    assert data["code"] == "bad_gateway"
    assert set(data) == {"error", "message", "code", "request_id"}
    assert data["message"] == data["error"]


async def test_with_the_limit_store_down_an_error_still_has_one_request_id(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    # Redis unreachable: the limits fail open, and the upstream's failure is answered.
    gateway = await start_gateway(
        upstreams={"auth": [f"http://127.0.0.1:{free_port()}"]},
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    async with client.get(f"{gateway}/auth/{unique()}") as resp:
        assert resp.status == 502
        ids = resp.headers.getall("x-request-id")
        data = await resp.json()
    assert ids == [data["request_id"]]


async def test_service_without_instances_is_a_json_503(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway(upstreams={})
    async with client.get(f"{gateway}/auth/{unique()}") as resp:
        assert resp.status == 503
        assert (await resp.json())["code"] == "service_unavailable"


async def test_slow_backend_is_a_json_504_after_the_route_timeout(
    start_gateway: StartGateway, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(
        '[[route]]\nprefix = "/quick/"\nservice = "auth"\npolicy = "public"\n'
        'rewrite = "/api/auth/"\ntimeout = 0.2\n'
    )
    gateway = await start_gateway(routes_file=routes)
    async with client.get(f"{gateway}/quick/{unique()}/slow") as resp:
        assert resp.status == 504
        assert (await resp.json())["code"] == "gateway_timeout"


async def test_default_timeout_applies_to_routes_without_one(
    start_gateway: StartGateway, client: aiohttp.ClientSession
) -> None:
    gateway = await start_gateway(upstream_timeout=0.2)
    async with client.get(f"{gateway}/auth/{unique()}/slow") as resp:
        assert resp.status == 504


async def test_probes_and_metrics(gateway: str, client: aiohttp.ClientSession) -> None:
    async with client.get(f"{gateway}/health") as resp:
        assert (resp.status, await resp.json()) == (200, {"status": "ok"})
    async with client.get(f"{gateway}/ready") as resp:
        assert resp.status == 200
    async with client.get(f"{gateway}/auth/{unique()}") as resp:
        assert resp.status == 200
    async with client.get(f"{METRICS_URLS[gateway]}/metrics") as resp:
        text = await resp.text()
    assert 'shopmesh_gateway_upstream_requests_total{outcome="2xx",service="auth"}' in text
    assert 'route="/auth/"' in text
