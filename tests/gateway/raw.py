"""A client on a raw socket: sends exactly the bytes a test gives, reads answers with h11."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import h11

WAIT = 15.0  # seconds; a safety net so a hang fails the test instead of stalling it


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names; the last of repeated ones
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def error_code(self) -> str:
        """The ``code`` of our JSON error shape (asserting the shape on the way)."""
        assert self.headers.get("content-type") == "application/json", self.headers
        data = self.json()
        assert set(data) >= {"error", "code", "request_id"}, data
        assert data["request_id"] == self.headers.get("x-request-id"), (data, self.headers)
        return str(data["code"])


class RawClient:
    """One connection to ``port``; :meth:`answer` reads the next answer off it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._parser: h11.Connection | None = None

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(
        self, *, method: str = "GET", timeout: float = WAIT, first_chunk: bool = False
    ) -> Answer:
        """The next answer (h11 is told a ``method`` request went out, for HEAD's sake).

        With ``first_chunk``, only up to the first piece of its body (a live stream's
        first event).
        """
        parser = self._parser
        if parser is None or (parser.our_state is h11.DONE and parser.their_state is h11.DONE):
            if parser is None:
                parser = self._parser = h11.Connection(h11.CLIENT)
            else:
                parser.start_next_cycle()
            parser.send(h11.Request(method=method, target="/", headers=[("host", "gateway")]))
            parser.send(h11.EndOfMessage())
        status, headers, body = 0, {}, bytearray()
        async with asyncio.timeout(timeout):
            while True:
                event = parser.next_event()
                if event is h11.NEED_DATA:
                    parser.receive_data(await self.reader.read(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    headers = {k.decode(): v.decode("latin-1") for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    body += event.data
                    if first_chunk:
                        return Answer(status, headers, bytes(body))
                elif isinstance(event, h11.EndOfMessage):
                    return Answer(status, headers, bytes(body))
                elif isinstance(event, h11.ConnectionClosed):
                    raise ConnectionError("closed without an answer")

    async def closed(self, timeout: float = WAIT) -> bool:
        """Whether the other side closes the connection (reading whatever comes first)."""
        async with asyncio.timeout(timeout):
            while await self.reader.read(65536):
                pass
        return True

    def close(self) -> None:
        self.writer.close()


async def exchange(port: int, request: bytes, *, method: str = "GET") -> Answer:
    """Send one raw request on a new connection and read its answer."""
    client = await RawClient.connect(port)
    try:
        await client.send(request)
        return await client.answer(method=method)
    finally:
        client.close()


def request(
    method: str,
    target: str,
    *,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    body: bytes | None = None,
    host: str = "gateway",
) -> bytes:
    """A well-formed HTTP/1.1 request (Content-Length when there is a body)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
