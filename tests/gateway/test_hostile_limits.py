"""Fair sharing, replayed against the gateway process: slow uploads, live streams.

A client that is slow to send its body is the client's problem (408), never
counted against the upstream (issue 16, finding 2); one user's live streams
cannot take the connections everyone else needs (finding 3).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from shopmesh.kit.aio import poll

from .hostile import marker, settle, token
from .process import GatewayProcess, gateway_process
from .raw import Answer, RawClient, exchange, request
from .recorder import RecordingUpstream

POOL = 16


@pytest.fixture(scope="module")
async def gateway(
    upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayProcess]:
    env = {
        "GATEWAY_CLIENT_BODY_TIMEOUT": "4",
        "GATEWAY_UPSTREAM_TIMEOUT": "1",
        "GATEWAY_UPSTREAM_POOL_LIMIT": str(POOL),
        "GATEWAY_STREAMS_PER_USER": "8",
        "GATEWAY_STREAMS_MAX": "12",
    }
    async with gateway_process(tmp_path_factory.mktemp("limits"), upstream.base, env) as process:
        yield process


def chunked_head(target: str) -> bytes:
    return f"POST {target} HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n".encode()


async def stalled_upload(port: int, target: str, first: bytes) -> Answer:
    """Send a head and the start of a body, then nothing more; the answer that comes."""
    client = await RawClient.connect(port)
    try:
        await client.send(chunked_head(target) + b"%x\r\n%b\r\n" % (len(first), first))
        return await client.answer(method="POST")
    finally:
        client.close()


async def test_slow_uploads_are_408_and_never_open_the_circuit_for_everyone(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    marks = [marker() for _ in range(6)]
    bodies = [b"{", b"{", b"{", b"x" * (100 * 1024), b"x" * (100 * 1024), b"x" * (100 * 1024)]
    answers = await asyncio.gather(
        *(
            stalled_upload(gateway.port, f"/api/products?{mark}", body)
            for mark, body in zip(marks, bodies, strict=True)
        )
    )
    for answer in answers:
        assert (answer.status, answer.error_code()) == (408, "request_timeout")
    # Six client-side failures, past the breaker's threshold of five: products stays open.
    probe = marker()
    answer = await exchange(gateway.port, request("GET", f"/api/products?{probe}"))
    assert answer.status == 200
    for mark in marks:
        assert upstream.complete(mark) == []


async def test_the_upstream_timeout_starts_once_the_request_is_out(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    # The body takes longer to arrive than the upstream timeout (1 s); the upstream answers
    # at once when it has it all.
    mark = marker()
    client = await RawClient.connect(gateway.port)
    try:
        await client.send(chunked_head(f"/api/products?{mark}"))
        for _ in range(4):
            piece = b"y" * (30 * 1024)
            await client.send(b"%x\r\n%b\r\n" % (len(piece), piece))
            await asyncio.sleep(0.4)  # the client's pace, not a wait for the system
        await client.send(b"0\r\n\r\n")
        answer = await client.answer(method="POST")
    finally:
        client.close()
    assert answer.status == 200, answer
    assert answer.json()["body_length"] == 4 * 30 * 1024


async def open_stream(port: int, user: int, mark: str) -> tuple[RawClient, Answer]:
    client = await RawClient.connect(port)
    auth = [("Authorization", f"Bearer {token(user)}")]
    await client.send(request("GET", f"/api/orders/stream?{mark}", headers=auth))
    return client, await client.answer(first_chunk=True)


async def test_one_users_live_streams_cannot_starve_the_others(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    opened = [await open_stream(gateway.port, 501, mark) for _ in range(10)]
    clients = [client for client, _ in opened]
    try:
        statuses = [answer.status for _, answer in opened]
        assert statuses == [200] * 8 + [429] * 2
        assert opened[0][1].body == b"data: hi\n\n"
        assert opened[-1][1].error_code() == "too_many_streams"
        # Another user still gets streams, up to the gateway's own cap (12 in all).
        others = [await open_stream(gateway.port, 502, mark) for _ in range(5)]
        clients += [client for client, _ in others]
        assert [answer.status for _, answer in others] == [200] * 4 + [429]
        # The 12 live streams left the request pool: 16 ordinary requests at once still pass.
        probes = [marker() for _ in range(POOL)]
        answers = await asyncio.gather(
            *(exchange(gateway.port, request("GET", f"/api/products?{p}")) for p in probes)
        )
        assert [answer.status for answer in answers] == [200] * POOL
    finally:
        for client in clients:
            client.close()

    async def live_upstream_streams() -> int:
        return upstream.open_streams

    # Closing them frees the user's and the gateway's room.
    await poll(live_upstream_streams, until=lambda n: n == 0, timeout=15, what="streams closed")
    client, answer = await open_stream(gateway.port, 501, marker())
    client.close()
    assert answer.status == 200
    await settle(upstream, gateway.port)
