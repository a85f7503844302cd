"""A raw-socket upstream that records what reached it, parsed by h11 (not by our code).

Each connection's bytes are kept as they arrived; each request h11 reads off
them is recorded as complete (its end arrived) or partial (the connection
ended first). Answers by target:

- ``.../slow``: none (the connection is held until the other side closes it);
- ``.../stream``: an event stream, one event, then held open;
- anything else: ``200`` JSON ``{"target", "body_length", "connection"}``, kept alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11

from shopmesh.kit.aio import poll

_EVENT_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


async def listen(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> tuple[asyncio.Server, str]:
    """A server on a free loopback port and its ``http://127.0.0.1:port``."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def stop_listening(server: asyncio.Server | None) -> None:
    if server is not None:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


@dataclass
class Received:
    """One request as the upstream saw it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    complete: bool = False
    connection: int = 0

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass
class RecordingUpstream:
    """Start with :meth:`start`; ``base`` is its ``http://127.0.0.1:port``."""

    received: list[Received] = field(default_factory=list)
    raw: list[bytearray] = field(default_factory=list)
    open_streams: int = 0
    base: str = ""
    _server: asyncio.Server | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def start(self) -> RecordingUpstream:
        self._server, self.base = await listen(self._serve)
        return self

    async def stop(self) -> None:
        await stop_listening(self._server)

    def complete(self, marker: str) -> list[Received]:
        """Requests whose target has ``marker`` and whose end arrived."""
        return [r for r in self.received if marker in r.target and r.complete]

    def partial(self, marker: str) -> list[Received]:
        """Requests whose target has ``marker`` that never ended."""
        return [r for r in self.received if marker in r.target and not r.complete]

    def saw(self, marker: bytes) -> bool:
        """Whether ``marker`` appears anywhere in the bytes that reached the upstream."""
        return any(marker in data for data in self.raw)

    async def wait_for(self, marker: str, *, count: int = 1, complete: bool = True) -> None:
        async def found() -> int:
            pick = self.complete if complete else self.partial
            return len(pick(marker))

        await poll(found, until=lambda n: n >= count, timeout=15, what=f"{count} x {marker}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = next(self._ids)
        raw = bytearray()
        self.raw.append(raw)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024 * 1024)
        current: Received | None = None
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    raw.extend(data)
                    conn.receive_data(data)
                    if not data:
                        return
                elif isinstance(event, h11.Request):
                    current = Received(
                        event.method.decode(),
                        event.target.decode("latin-1"),
                        [(k.decode(), v.decode("latin-1")) for k, v in event.headers],
                        connection=number,
                    )
                    self.received.append(current)
                elif isinstance(event, h11.Data) and current is not None:
                    current.body += event.data
                elif isinstance(event, h11.EndOfMessage) and current is not None:
                    current.complete = True
                    if not await self._answer(current, conn, reader, writer, number):
                        return
                    conn.start_next_cycle()
                else:
                    return
        except (h11.ProtocolError, ConnectionError):
            return
        finally:
            writer.close()

    async def _answer(
        self,
        request: Received,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        number: int,
    ) -> bool:
        """Answer ``request``; False when the connection is done with."""
        if "/slow" in request.target:
            await reader.read()  # until the gateway gives up and closes
            return False
        if "/stream" in request.target:
            writer.write(_EVENT_STREAM_HEAD + b"a\r\ndata: hi\n\n\r\n")
            self.open_streams += 1
            try:
                await reader.read()  # held until the gateway closes it
            finally:
                self.open_streams -= 1
            return False
        body = json.dumps(
            {"target": request.target, "body_length": len(request.body), "connection": number}
        ).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
        head = conn.send(h11.Response(status_code=200, headers=headers)) or b""
        writer.write(
            head + (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
        )
        await writer.drain()
        return True
