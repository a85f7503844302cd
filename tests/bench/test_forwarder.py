"""bench.forwarder, the bare Python forwarder the gateway scenario measures as the floor."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from harness.resources import free_port
from shopmesh.kit.aio import poll

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Upstream:
    url: str
    seen: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    port = free_port()
    found = Upstream(f"http://127.0.0.1:{port}")

    async def echo(request: web.Request) -> web.Response:
        found.seen.append({"path": request.path_qs, **request.headers})
        return web.json_response({"path": request.path_qs}, headers={"X-Upstream": "yes"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield found
    await runner.cleanup()


async def _start(upstream: str) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    argv = ["-m", "bench.forwarder", "--port", str(port), "--upstream", upstream]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, "--strip", "/bench", cwd=REPO
    )

    async def listening() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await poll(listening, timeout=30, what="the forwarder listening")
    return process, port


@pytest.fixture
async def forwarder(upstream: Upstream) -> AsyncIterator[int]:
    process, port = await _start(upstream.url)
    yield port
    process.terminate()
    await asyncio.wait_for(process.wait(), timeout=10)


async def _exchange(port: int, raw: bytes, answers: int) -> list[tuple[str, dict[str, str], bytes]]:
    """Send ``raw`` on one connection and read ``answers`` responses off it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        found = []
        for _ in range(answers):
            status = (await reader.readline()).decode().strip()
            headers = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
            body = await reader.readexactly(int(headers["content-length"]))
            found.append((status, headers, body))
        return found
    finally:
        writer.close()


async def test_forwards_with_the_prefix_stripped_and_hop_by_hop_headers_dropped(
    forwarder: int, upstream: Upstream
) -> None:
    raw = (
        b"GET /bench/json?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t\r\n"
        b"Connection: keep-alive\r\n\r\n"
    )
    [(status, headers, body)] = await _exchange(forwarder, raw, 1)

    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body) == {"path": "/json?x=1"}
    assert headers["x-upstream"] == "yes"
    [seen] = upstream.seen
    assert seen["Authorization"] == "Bearer t"
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["Host"] != "a"  # the upstream's own address, set by the upstream client


async def test_requests_on_one_connection_are_answered_in_order(forwarder: int) -> None:
    raw = b"".join(b"GET /bench/n%d HTTP/1.1\r\nHost: a\r\n\r\n" % n for n in range(3))
    answers = await _exchange(forwarder, raw, 3)

    assert [json.loads(body)["path"] for _, _, body in answers] == ["/n0", "/n1", "/n2"]


async def test_a_request_with_a_body_is_refused(forwarder: int, upstream: Upstream) -> None:
    raw = b"POST /bench/json HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
    [(status, _, _)] = await _exchange(forwarder, raw, 1)

    assert status == "HTTP/1.1 501 Not Implemented"
    assert upstream.seen == []


async def test_an_upstream_that_is_down_gives_502() -> None:
    process, port = await _start(f"http://127.0.0.1:{free_port()}")
    try:
        [(status, _, _)] = await _exchange(port, b"GET /bench/json HTTP/1.1\r\nHost: a\r\n\r\n", 1)
        assert status == "HTTP/1.1 502 Bad Gateway"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0  # a clean stop
