"""The live status stream as Server-Sent Events (``text/event-stream``), on Starlette's
:class:`~starlette.responses.StreamingResponse`.

The stream holds its hub subscription for exactly as long as the connection
lives: Starlette watches for the client's disconnect while it streams and
cancels the stream then, so a closed tab frees its subscriber at once, not at
the next keep-alive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from pydantic import BaseModel
from starlette.responses import StreamingResponse

from shopmesh.orders.domain import OrderStatus, StatusChange
from shopmesh.orders.live import StatusHub

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
    # Only with "Payment declined": why (``limit_exceeded``...); absent otherwise.
    decline_reason: str | None = None


def encode(change: StatusChange) -> bytes:
    """``change`` as one SSE message."""
    data = StatusEvent(
        order_id=change.order_id,
        status=change.status,
        updated_at=change.updated_at,
        decline_reason=change.decline_reason,
    ).model_dump_json(exclude_none=True)
    return b"event: status\ndata: " + data.encode() + b"\n\n"


async def status_events(
    hub: StatusHub, customer_id: int, *, keepalive: float
) -> AsyncIterator[bytes]:
    """``customer_id``'s status changes as SSE messages, a comment when idle for
    ``keepalive`` seconds; ends when the reader falls too far behind (it reconnects and
    reads the orders again)."""
    with hub.subscribe(customer_id) as subscription:
        yield CONNECTED
        while not subscription.dropped:
            change = await subscription.next(timeout=keepalive)
            yield KEEPALIVE if change is None else encode(change)


def status_stream(hub: StatusHub, customer_id: int, *, keepalive: float) -> StreamingResponse:
    """The streaming response of ``customer_id``'s status changes."""
    return StreamingResponse(
        status_events(hub, customer_id, keepalive=keepalive), media_type=MEDIA_TYPE, headers=HEADERS
    )
