"""How services run under uvicorn: how long idle client connections stay open."""

from __future__ import annotations

import asyncio
from typing import Any

from shopmesh.gateway.settings import GatewaySettings
from shopmesh.kit.runner import server_config
from shopmesh.kit.settings import ServiceSettings
from tests.support import serve


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_gateway_keeps_idle_client_connections_longer_than_its_pools_do() -> None:
    gateway = GatewaySettings()
    service = ServiceSettings()

    # Browsers and client pools keep idle connections for a minute or more.
    assert gateway.limits().keepalive_timeout >= 60
    # The gateway's pools drop an idle connection before the service closes it.
    assert server_config(_ok, service).timeout_keep_alive > gateway.upstream_keepalive


async def test_an_idle_connection_is_closed_after_the_keepalive_timeout() -> None:
    running = await serve(_ok, settings=ServiceSettings(keepalive_timeout=1))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        try:
            for _ in range(2):  # kept alive between two requests
                writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200")
                assert await reader.readexactly(2) == b"ok"

            # Then idle: the server closes it, sooner than uvicorn's own default (5 s).
            assert await asyncio.wait_for(reader.read(), 4) == b""
        finally:
            writer.close()
    finally:
        await running.stop()
