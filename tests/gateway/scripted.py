"""An upstream that misbehaves on purpose: each request gets whatever raw bytes a script says."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .recorder import listen, stop_listening

# (request, writer) -> keep the connection open for more requests?
Script = Callable[["Asked", asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Asked:
    """A request head as the scripted upstream read it."""

    connection: int
    target: str
    request_id: bytes
    previous_id: bytes  # the one asked before on the same connection


@dataclass
class ScriptedUpstream:
    """Reads request heads (GETs without bodies) and answers each with ``script``."""

    script: Script
    connections: int = 0
    targets: list[str] = field(default_factory=list)
    base: str = ""
    _server: asyncio.Server | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def start(self) -> ScriptedUpstream:
        self._server, self.base = await listen(self._serve)
        return self

    async def stop(self) -> None:
        await stop_listening(self._server)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = next(self._ids)
        self.connections += 1
        previous = b""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode("latin-1")
                self.targets.append(target)
                found = re.search(rb"\r\nx-request-id: ([^\r]*)\r\n", head, re.IGNORECASE)
                request_id = found.group(1) if found else b""
                asked, previous = Asked(number, target, request_id, previous), request_id
                if not await self.script(asked, writer):
                    await reader.read()  # hold it open, deaf, until the other side closes
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def answer(body: bytes, *extra: bytes, request_id: bytes = b"") -> bytes:
    """A well-formed answer with ``body`` and any ``extra`` header lines.

    ``request_id`` is echoed as our services echo the gateway's ``X-Request-ID``.
    """
    head = [b"HTTP/1.1 200 OK", b"content-type: text/plain", b"content-length: %d" % len(body)]
    if request_id:
        head.append(b"x-request-id: " + request_id)
    return b"\r\n".join([*head, *extra]) + b"\r\n\r\n" + body
