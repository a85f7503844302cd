"""Reading request bodies off raw ASGI under the gateway's size limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from shopmesh.kit.http import Receive


class BodyTooLarge(Exception):
    """The client sent more than the body limit."""


class ClientDisconnected(Exception):
    """The client went away before its request body was complete."""


async def read_body(receive: Receive, *, limit: int) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes."""
    chunks = [chunk async for chunk in stream_body(receive, limit=limit)]
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


async def stream_body(receive: Receive, *, limit: int) -> AsyncIterator[bytes]:
    """The request body chunk by chunk as the client sends it, at most ``limit`` bytes."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def login_username(body: bytes) -> str | None:
    """The lower-cased ``username`` of a login body; ``None`` if the body is not such JSON.

    Lenient on purpose: a malformed body is the auth service's to refuse.
    """
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    username = data.get("username") if isinstance(data, dict) else None
    if not isinstance(username, str) or not username.strip():
        return None
    return username.strip().lower()
