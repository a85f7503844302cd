"""The live status stream as Server-Sent Events (``text/event-stream``).

The response owns its hub subscription for exactly as long as the
connection lives: it watches for the client's disconnect while it streams,
so a closed tab frees its subscriber at once, not at the next keep-alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from shopmesh.orders.domain import OrderStatus, StatusChange
from shopmesh.orders.live import StatusHub, Subscription

log = logging.getLogger(__name__)

MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Sent at once, so proxies and the browser see the headers before the first change.
CONNECTED = b": connected\nretry: 3000\n\n"
KEEPALIVE = b": keep-alive\n\n"


class StatusEvent(BaseModel):
    """The ``data`` of an ``event: status`` message."""

    order_id: int
    status: OrderStatus
    updated_at: datetime


def encode(change: StatusChange) -> bytes:
    """``change`` as one SSE message."""
    data = StatusEvent(
        order_id=change.order_id, status=change.status, updated_at=change.updated_at
    ).model_dump_json()
    return b"event: status\ndata: " + data.encode() + b"\n\n"


class StatusStreamResponse(Response):
    """Streams ``customer_id``'s status changes until the client leaves or falls behind."""

    media_type = MEDIA_TYPE

    def __init__(self, hub: StatusHub, customer_id: int, *, keepalive: float) -> None:
        # Not Response.__init__: a stream has no body to measure (no Content-Length).
        self.status_code = 200
        self.background = None
        self._hub = hub
        self._customer_id = customer_id
        self._keepalive = keepalive
        self.init_headers(HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self._hub.subscribe(self._customer_id) as subscription:
            pump = asyncio.create_task(self._pump(subscription, send))
            watch = asyncio.create_task(_until_disconnect(receive))
            try:
                await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (pump, watch):
                    task.cancel()
                outcomes = await asyncio.gather(pump, watch, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception) and not isinstance(outcome, OSError):
                log.warning("status stream ended: %s", type(outcome).__name__)

    async def _pump(self, subscription: Subscription, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await _chunk(send, CONNECTED)
        while not subscription.dropped:
            change = await subscription.next(timeout=self._keepalive)
            await _chunk(send, KEEPALIVE if change is None else encode(change))
        # Fell behind: end the stream; the client reconnects and reads the orders again.
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _chunk(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
