"""A fake backend (raw ASGI) the gateway tests forward to; it records what reached it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson

from shopmesh.kit.http import Receive, Scope, Send


@dataclass
class Seen:
    """One request as the backend received it."""

    method: str
    path: str
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers_named(name)
        return values[0] if values else None

    def headers_named(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass
class Upstream:
    """The backend's behaviour by path suffix, and what it has seen.

    - ``.../slow``: never answers (until the caller hangs up)
    - ``.../events``: an event stream; the second event waits for ``release``
    - ``.../cookies``: two ``Set-Cookie`` headers
    - anything else: echoes the request as JSON
    """

    name: str
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    stream_closed: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def paths(self) -> list[str]:
        return [request.path for request in self.seen]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = await _read(receive)
        path: str = scope["path"]
        self.seen.append(
            Seen(
                method=scope["method"],
                path=path,
                raw_path=scope["raw_path"].decode("latin-1"),
                query=scope["query_string"].decode("latin-1"),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
                body=body,
            )
        )
        if path.endswith("/slow"):
            await _until_disconnect(receive)
        elif path.endswith("/events"):
            await self._events(receive, send)
        elif path.endswith("/cookies"):
            cookies = [(b"set-cookie", b"a=1; Path=/"), (b"set-cookie", b"refresh=xyz; HttpOnly")]
            await _json(send, 200, {"ok": True}, cookies)
        else:
            await _json(send, 200, self._echo(scope, body))

    def _echo(self, scope: Scope, body: bytes) -> dict[str, Any]:
        return {
            "service": self.name,
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode("latin-1"),
            "body_length": len(body),
        }

    async def _events(self, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
        disconnected = asyncio.ensure_future(_until_disconnect(receive))
        released = asyncio.ensure_future(self.release.wait())
        await asyncio.wait({disconnected, released}, return_when=asyncio.FIRST_COMPLETED)
        if disconnected.done():
            released.cancel()
            self.stream_closed.set()
            return
        await send({"type": "http.response.body", "body": b"data: two\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        await disconnected  # stays until the gateway releases the connection
        self.stream_closed.set()


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _json(
    send: Send, status: int, data: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps(data)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
