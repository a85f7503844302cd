"""A misbehaving upstream behind the gateway process: framing in doubt is never reused.

Issue 16, finding 6: behind an upstream that sent one extra answer, a pooled
connection went back to the pool twice; a later client got another client's
answer and a third hung. Here each misbehaviour sits behind its own service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from .hostile import marker, token
from .process import GatewayProcess, gateway_process
from .raw import exchange, request
from .scripted import Asked, ScriptedUpstream, answer

INTRUDER = b"an answer nobody asked for"


async def extra_at_once(asked: Asked, writer: asyncio.StreamWriter) -> bool:
    mine = answer(asked.target.encode(), request_id=asked.request_id)
    writer.write(mine + answer(INTRUDER, request_id=asked.request_id))
    return True


async def extra_later(asked: Asked, writer: asyncio.StreamWriter) -> bool:
    writer.write(answer(asked.target.encode(), request_id=asked.request_id))
    await writer.drain()
    # A second answer to the same request, late: idle in the pool by then, or already
    # handed to the next request, which must not take it for its own.
    await asyncio.sleep(0.05)
    writer.write(answer(INTRUDER, request_id=asked.request_id))
    return True


async def short_then_close(asked: Asked, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part of it")
    await writer.drain()
    writer.close()
    return True


async def short_then_silent(asked: Asked, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part of it")
    return False


async def close_unanswered(asked: Asked, writer: asyncio.StreamWriter) -> bool:
    writer.close()
    return True


async def close_ignored(asked: Asked, writer: asyncio.StreamWriter) -> bool:
    writer.write(answer(asked.target.encode(), b"connection: close"))
    return True  # and keeps reading, as if it had said nothing


async def double_framing(asked: Asked, writer: asyncio.StreamWriter) -> bool:
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n"
        b"0\r\n\r\n" + answer(INTRUDER)
    )
    return True


@dataclass
class Misbehaving:
    gateway: GatewayProcess
    upstreams: dict[str, ScriptedUpstream]


SCRIPTS = {
    "products": extra_at_once,
    "orders": extra_later,
    "customers": short_then_close,
    "dispatcher": short_then_silent,
    "analytics": close_unanswered,
    "auth": close_ignored,
    "payments": double_framing,
}


@pytest.fixture(scope="module")
async def misbehaving(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Misbehaving]:
    upstreams = {name: await ScriptedUpstream(script).start() for name, script in SCRIPTS.items()}
    services = {name: upstream.base for name, upstream in upstreams.items()}
    state = tmp_path_factory.mktemp("misbehaving")
    env = {"GATEWAY_UPSTREAM_TIMEOUT": "1"}
    try:
        async with gateway_process(state, "", env, services=services) as process:
            yield Misbehaving(process, upstreams)
    finally:
        for upstream in upstreams.values():
            await upstream.stop()


async def test_an_extra_answer_in_the_same_read_closes_the_connection(
    misbehaving: Misbehaving,
) -> None:
    for _ in range(4):  # one after the other
        target = f"/api/products?{marker()}"
        got = await exchange(misbehaving.gateway.port, request("GET", target))
        assert (got.status, got.body) == (200, target.encode())
    # Each connection was closed after its first answer instead of going back to the pool.
    assert misbehaving.upstreams["products"].connections == 4


async def test_a_late_extra_answer_never_reaches_another_client(misbehaving: Misbehaving) -> None:
    headers = [("Authorization", f"Bearer {token(7)}")]
    got = []
    for _ in range(6):  # one after the other, as fast as they come
        target = f"/api/orders?{marker()}"
        reply = await exchange(misbehaving.gateway.port, request("GET", target, headers=headers))
        got.append((target, reply))
    for target, reply in got:
        # Its own answer, or (when the stray one came first on a reused connection) a 502:
        # never another request's answer.
        assert reply.body != INTRUDER
        if reply.status != 200:
            assert (reply.status, reply.error_code()) == (502, "bad_gateway")
        else:
            assert reply.body == target.encode()
    assert got[0][1].status == 200


@pytest.mark.parametrize(
    ("service", "status", "code"),
    [("customers", 502, "bad_gateway"), ("dispatcher", 504, "gateway_timeout")],
)
async def test_a_short_body_is_an_error_and_the_connection_is_not_reused(
    misbehaving: Misbehaving, service: str, status: int, code: str
) -> None:
    admin = [("Authorization", f"Bearer {token(8, role='admin')}")]
    for _ in range(2):
        target = f"/api/{service}/x?{marker()}"
        got = await exchange(misbehaving.gateway.port, request("GET", target, headers=admin))
        assert (got.status, got.error_code()) == (status, code)
    assert misbehaving.upstreams[service].connections == 2


async def test_a_connection_closed_without_an_answer_is_a_json_502(
    misbehaving: Misbehaving,
) -> None:
    admin = [("Authorization", f"Bearer {token(9, role='admin')}")]
    got = await exchange(
        misbehaving.gateway.port, request("GET", f"/api/analytics/x?{marker()}", headers=admin)
    )
    assert (got.status, got.error_code()) == (502, "bad_gateway")


async def test_connection_close_is_honoured_even_when_the_upstream_keeps_reading(
    misbehaving: Misbehaving,
) -> None:
    for _ in range(3):
        target = f"/api/auth/x?{marker()}"
        got = await exchange(misbehaving.gateway.port, request("GET", target))
        assert (got.status, got.body) == (200, target.encode())
    assert misbehaving.upstreams["auth"].connections == 3


async def test_an_answer_framed_two_ways_is_a_json_502_and_not_reused(
    misbehaving: Misbehaving,
) -> None:
    headers = [("Authorization", f"Bearer {token(10)}")]
    for _ in range(2):
        target = f"/api/payments/x?{marker()}"
        got = await exchange(misbehaving.gateway.port, request("GET", target, headers=headers))
        assert (got.status, got.error_code()) == (502, "bad_gateway")
    assert misbehaving.upstreams["payments"].connections == 2
