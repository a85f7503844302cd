"""The gateway serves the events' AsyncAPI document itself, to anyone, at /api/asyncapi.json."""

from __future__ import annotations

import json

import aiohttp

from shopmesh.gateway.app import ASYNCAPI_FILE


async def test_the_gateway_serves_the_asyncapi_document(
    gateway: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{gateway}/api/asyncapi.json") as answer:
        assert answer.status == 200
        assert answer.headers["content-type"] == "application/json"
        body = await answer.read()
    assert json.loads(body) == json.loads(ASYNCAPI_FILE.read_text())
    assert json.loads(body)["asyncapi"] == "3.0.0"
    async with client.head(f"{gateway}/api/asyncapi.json") as answer:
        assert answer.status == 200
        assert await answer.read() == b""
    async with client.post(f"{gateway}/api/asyncapi.json") as answer:
        assert answer.status == 404  # no route: it is only read
