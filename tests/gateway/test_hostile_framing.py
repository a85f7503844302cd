"""Request smuggling and path tricks that the gateway held off, kept that way.

Each attack hides a second request where a desynchronised parser would see
one; the gateway must answer 400 (our JSON shape), close the connection, and
the smuggled request must never reach the upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .hostile import marker, settle
from .process import GatewayProcess, gateway_process
from .raw import RawClient, exchange, request
from .recorder import RecordingUpstream

HOST = "Host: gateway\r\n"
# Each attack's head and body; SMUGGLED is replaced by a complete request of its own.
ATTACKS = {
    "CL then TE": "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "TE then CL": "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\nSMUGGLED",
    "two different CLs": "Content-Length: 0\r\nContent-Length: 44\r\n\r\nSMUGGLED",
    "two equal CLs": "Content-Length: 0\r\nContent-Length: 0\r\n\r\nSMUGGLED",
    "CL as a list": "Content-Length: 0, 0\r\n\r\nSMUGGLED",
    "CL with a plus": "Content-Length: +0\r\n\r\nSMUGGLED",
    "CL in hex": "Content-Length: 0x0\r\n\r\nSMUGGLED",
    "CL negative": "Content-Length: -1\r\n\r\nSMUGGLED",
    "CL with a space inside": "Content-Length: 0 0\r\n\r\nSMUGGLED",
    "TE chunked then identity": "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nSMUGGLED",
    "TE gzip then chunked": "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "TE xchunked": "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "TE twice": "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\nSMUGGLED",
    "TE obs-folded": "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "TE with space before colon": "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "TE with a vertical tab": "Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "obs-fold": "X-Note: a\r\n folded\r\nContent-Length: 0\r\n\r\nSMUGGLED",
    "bare CR": "X-Note: a\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
    "bare LF": "X-Note: a\nContent-Length: 0\n\nSMUGGLED",
    "NUL in a value": "X-Note: a\x00b\r\nContent-Length: 0\r\n\r\nSMUGGLED",
    "non-token header name": 'X"Note: a\r\nContent-Length: 0\r\n\r\nSMUGGLED',
    "chunk size with junk": "Transfer-Encoding: chunked\r\n\r\n0x0\r\n\r\nSMUGGLED",
    "chunk extension with CR": "Transfer-Encoding: chunked\r\n\r\n0;a\rb\r\n\r\nSMUGGLED",
    "chunked without its last CRLF": "Transfer-Encoding: chunked\r\n\r\n0\r\nSMUGGLED",
}


@pytest.fixture(scope="module")
async def gateway(
    upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayProcess]:
    async with gateway_process(tmp_path_factory.mktemp("framing"), upstream.base) as process:
        yield process


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
async def test_a_smuggling_attempt_is_a_json_400_and_nothing_is_smuggled(
    gateway: GatewayProcess, upstream: RecordingUpstream, attack: str
) -> None:
    mark, smuggled_mark = marker(), marker()
    smuggled = f"GET /api/products?{smuggled_mark} HTTP/1.1\r\n{HOST}\r\n"
    raw = f"POST /api/products?{mark} HTTP/1.1\r\n{HOST}{attack.replace('SMUGGLED', smuggled)}"
    client = await RawClient.connect(gateway.port)
    try:
        await client.send(raw.encode("latin-1"))
        answer = await client.answer(method="POST")
        assert (answer.status, answer.error_code()) == (400, "bad_request")
        assert await client.closed()
    finally:
        client.close()
    await settle(upstream, gateway.port)
    assert not upstream.saw(smuggled_mark.encode())


@pytest.mark.parametrize(
    "path", ["/api/products/../auth/me", "/api/products/%2e%2e/auth/me", "/api/%2E/products"]
)
async def test_dot_segments_are_refused(gateway: GatewayProcess, path: str) -> None:
    answer = await exchange(gateway.port, request("GET", path))
    assert (answer.status, answer.error_code()) == (400, "bad_request")


async def test_repeated_slashes_are_merged_before_routing(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    answer = await exchange(gateway.port, request("GET", f"//api//products///7?{mark}"))
    assert answer.status == 200
    [seen] = upstream.complete(mark)
    assert seen.target == f"/api/products/7?{mark}"
