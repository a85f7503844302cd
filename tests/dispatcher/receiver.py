"""A small real webhook receiver (aiohttp.web on a free loopback port) for the tests.

It verifies the signature itself, as a receiver following the webhooks
module's documentation would: HMAC-SHA256 of "<timestamp>.<raw body>".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from .support import WEBHOOK_SECRET


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def signature_ok(headers: dict[str, str], body: bytes, secret: str = WEBHOOK_SECRET) -> bool:
    timestamp = headers.get("X-ShopMesh-Timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    given = headers.get("X-ShopMesh-Signature", "")
    return hmac.compare_digest(given, "sha256=" + expected.hexdigest())


@dataclass
class Receiver:
    """Answers each call with the next of ``statuses`` (then ``status``), or hangs when told."""

    url: str = ""
    status: int = 200
    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    rejected: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        if not signature_ok(headers, body):
            self.rejected += 1
            return web.Response(status=401, text="bad signature")
        self.received.append(Received(headers=headers, body=body))
        if self.hang:
            await self.release.wait()
        status = self.statuses.pop(0) if self.statuses else self.status
        return web.Response(status=status, text="ok" if status < 300 else "receiver says no")

    async def count(self) -> int:
        return len(self.received)


@asynccontextmanager
async def receiving(**options: Any) -> AsyncIterator[Receiver]:
    receiver = Receiver(**options)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/hook"
    try:
        yield receiver
    finally:
        receiver.release.set()
        await runner.cleanup()
