"""The gateway process against hostile HTTP on raw sockets: framing, duplicate headers, trailers.

Each case is a request an attacker sent (issue 16); each test asserts the
client's answer (our JSON error shape, the right status) and what a recording
upstream received (parsed by h11, not by our code).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .hostile import marker, settle, token
from .process import GatewayProcess, gateway_process
from .raw import RawClient, exchange, request
from .recorder import RecordingUpstream

PAY = "/payment/transactions/pay"
BAD_CHUNKS = {
    "size is not hex": b"zz\r\n{}\r\n0\r\n\r\n",
    "size overflows": b"fffffffffffffffff1\r\n{}\r\n0\r\n\r\n",
    "data longer than its size": b"1\r\n{}\r\n0\r\n\r\n",
    "no CRLF after the data": b"2\r\n{}XX0\r\n\r\n",
    "LF without CR": b"2\n{}\n0\n\n",
    "negative size": b"-2\r\n{}\r\n0\r\n\r\n",
    "space inside the size": b"2 2\r\n{}\r\n0\r\n\r\n",
}


@pytest.fixture(scope="module")
async def gateway(
    upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayProcess]:
    env = {"GATEWAY_HEADER_TIMEOUT": "1", "GATEWAY_KEEPALIVE_TIMEOUT": "2"}
    state: Path = tmp_path_factory.mktemp("hostile-http")
    async with gateway_process(state, upstream.base, env) as process:
        yield process


def chunked_head(target: str, *extra: str) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: gateway", "Transfer-Encoding: chunked", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("body", BAD_CHUNKS.values(), ids=BAD_CHUNKS.keys())
@pytest.mark.parametrize("route", ["pay", "products"])
async def test_a_bad_chunk_is_a_json_400_and_no_request_reaches_the_upstream(
    gateway: GatewayProcess, upstream: RecordingUpstream, body: bytes, route: str
) -> None:
    mark = marker()
    auth = f"Authorization: Bearer {token(16)}"
    head = (
        chunked_head(f"{PAY}?{mark}", auth)
        if route == "pay"
        else chunked_head(f"/api/products?{mark}")
    )
    answer = await exchange(gateway.port, head + body, method="POST")
    assert (answer.status, answer.error_code()) == (400, "bad_request")
    await settle(upstream, gateway.port)
    assert upstream.complete(mark) == []


async def test_a_streamed_body_that_breaks_off_is_cut_off_upstream_never_completed(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    client = await RawClient.connect(gateway.port)
    try:
        big = b"x" * (100 * 1024)  # over what the gateway holds whole: it streams
        await client.send(chunked_head(f"/api/products?{mark}") + b"%x\r\n%b\r\n" % (len(big), big))
        await upstream.wait_for(mark, complete=False)  # the upstream request has begun
        await client.send(b"zz\r\n")
        answer = await client.answer(method="POST")
    finally:
        client.close()
    assert (answer.status, answer.error_code()) == (400, "bad_request")
    await settle(upstream, gateway.port)
    assert upstream.complete(mark) == []
    assert len(upstream.partial(mark)) == 1


TWICE = [
    ("Authorization", f"Bearer {token(1)}", f"Bearer {token(2)}"),
    ("Host", "gateway", "evil.example"),
    ("Content-Length", "2", "2"),
    ("Transfer-Encoding", "chunked", "chunked"),
]


# Named by the header: the tokens change with the clock, and pytest-xdist's workers must
# collect the same test names.
@pytest.mark.parametrize(("name", "first", "second"), TWICE, ids=[name for name, *_ in TWICE])
async def test_a_header_that_may_appear_once_appearing_twice_is_a_json_400(
    gateway: GatewayProcess, upstream: RecordingUpstream, name: str, first: str, second: str
) -> None:
    mark = marker()
    head = f"POST /auth/me?{mark} HTTP/1.1\r\n"
    if name != "Host":
        head += "Host: gateway\r\n"
    body = b"0\r\n\r\n" if name == "Transfer-Encoding" else b"{}"
    if name not in ("Content-Length", "Transfer-Encoding"):
        head += "Content-Length: 2\r\n"
    head += f"{name}: {first}\r\n{name}: {second}\r\n\r\n"
    answer = await exchange(gateway.port, head.encode() + body, method="POST")
    assert (answer.status, answer.error_code()) == (400, "bad_request")
    await settle(upstream, gateway.port)
    assert not upstream.saw(mark.encode())


async def test_trailers_are_dropped_never_turned_into_headers(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    # Authorization only in a trailer: the request has none, so it is refused.
    mark = marker()
    trailer = f"Authorization: Bearer {token(3)}\r\n".encode()
    body = b"2\r\n{}\r\n0\r\n" + trailer + b"\r\n"
    target = f"/payment/transactions?{mark}"
    answer = await exchange(gateway.port, chunked_head(target) + body, method="POST")
    assert (answer.status, answer.error_code()) == (401, "unauthorized")
    # With a real Authorization header, the trailer's fields never reach the upstream.
    second = marker()
    auth = f"Authorization: Bearer {token(4)}"
    trailers = b"X-Injected: 1\r\nAuthorization: Bearer forged\r\n\r\n"
    body = b"2\r\n{}\r\n0\r\n" + trailers
    head = chunked_head(f"/payment/transactions?{second}", auth)
    answer = await exchange(gateway.port, head + body, method="POST")
    assert answer.status == 200
    await settle(upstream, gateway.port)
    assert not upstream.saw(mark.encode())
    [seen] = upstream.complete(second)
    assert seen.header("x-injected") == []
    assert seen.header("authorization") == [f"Bearer {token(4)}"]
    assert seen.body == b"{}"


async def test_a_head_trickled_past_the_header_timeout_is_a_json_408(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    client = await RawClient.connect(gateway.port)
    try:
        await client.send(f"GET /api/products?{mark} HTTP/1.1\r\nHost: gateway\r\n".encode())
        answer = None
        for index in range(100):  # one line every 0.2 s: the head never ends by itself
            try:
                answer = await client.answer(timeout=0.2)
                break
            except TimeoutError:
                await client.send(f"X-Line-{index}: {index}\r\n".encode())
        assert answer is not None, "the head went on for 20 s"
        assert (answer.status, answer.error_code()) == (408, "request_timeout")
        assert await client.closed()
    finally:
        client.close()
    await settle(upstream, gateway.port)
    assert not upstream.saw(mark.encode())


async def test_idle_connections_are_closed(gateway: GatewayProcess) -> None:
    silent = await RawClient.connect(gateway.port)  # never sends a byte
    kept = await RawClient.connect(gateway.port)  # one request, then idle
    try:
        await kept.send(request("GET", "/health"))
        assert (await kept.answer()).status == 200
        assert await silent.closed()
        assert await kept.closed()
    finally:
        silent.close()
        kept.close()


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("one header of 1 MiB", [("X-Big", "a" * (1024 * 1024))]),
        ("5,000 headers", [(f"X-H{i}", "v") for i in range(5000)]),
        ("33 KiB of headers", [(f"X-P{i}", "a" * 1024) for i in range(33)]),
        ("101 headers", [(f"X-H{i}", "v") for i in range(100)]),
    ],
)
async def test_oversized_heads_are_a_json_431_and_never_forwarded(
    gateway: GatewayProcess, upstream: RecordingUpstream, case: str, extra: list[tuple[str, str]]
) -> None:
    mark = marker()
    answer = await exchange(gateway.port, request("GET", f"/api/products?{mark}", headers=extra))
    assert (answer.status, answer.error_code()) == (431, "request_header_fields_too_large")
    await settle(upstream, gateway.port)
    assert not upstream.saw(mark.encode())


async def test_a_head_within_the_limits_is_forwarded(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    extra = [(f"X-H{i}", "v" * 200) for i in range(90)]
    answer = await exchange(gateway.port, request("GET", f"/api/products?{mark}", headers=extra))
    assert answer.status == 200
    [seen] = upstream.complete(mark)
    assert seen.header("x-h89") == ["v" * 200]


async def test_forwarding_headers_from_an_untrusted_peer_are_dropped(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    headers = [
        ("X-Forwarded-For", "6.6.6.6"),
        ("X-Real-IP", "6.6.6.6"),
        ("Forwarded", "for=6.6.6.6;proto=https"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.example"),
    ]
    answer = await exchange(gateway.port, request("GET", f"/api/products?{mark}", headers=headers))
    assert answer.status == 200
    [seen] = upstream.complete(mark)
    assert seen.header("x-forwarded-for") == ["127.0.0.1"]
    assert seen.header("x-real-ip") == []
    assert seen.header("forwarded") == []
    assert seen.header("x-forwarded-proto") == ["http"]
    assert seen.header("x-forwarded-host") == ["gateway"]


async def test_metrics_are_served_on_their_own_port_not_the_public_one(
    gateway: GatewayProcess,
) -> None:
    public = await exchange(gateway.port, request("GET", "/metrics"))
    assert (public.status, public.error_code()) == (404, "not_found")
    private = await exchange(gateway.metrics_port, request("GET", "/metrics"))
    assert private.status == 200
    assert b"# TYPE shopmesh_gateway_upstream_requests_total counter" in private.body
