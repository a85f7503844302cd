"""Webhooks: external systems (warehouses, carriers) are told when an order is dispatched.

Each dispatch queues one delivery per URL in ``DISPATCHER_WEBHOOK_URLS`` in
its own transaction; this worker, a background task of its own, delivers
them, so a slow or failing receiver never holds up dispatching.

What a receiver gets — ``POST <url>`` with the JSON body::

    {"id": 42, "reference": "<order uuid>", "customer_id": 7, "product_id": 3,
     "quantity": 2, "total_cost": 19.98, "status": "Dispatched",
     "created_at": "<ISO 8601>", "dispatched_at": "<ISO 8601>", "event_id": "<uuid>"}

and the headers:

- ``Content-Type: application/json``
- ``X-ShopMesh-Event: order.dispatched``
- ``X-ShopMesh-Delivery: <delivery id>`` — the same on every retry of one delivery
- ``X-ShopMesh-Timestamp: <unix seconds>`` — when this attempt was sent
- ``X-ShopMesh-Signature: sha256=<hex>`` — HMAC-SHA256, keyed with
  ``DISPATCHER_WEBHOOK_SECRET``, of the ASCII timestamp, a ``.``, then the raw
  body bytes exactly as received.

To verify: compute ``hmac.new(secret, f"{timestamp}.".encode() + raw_body,
sha256).hexdigest()``, compare it with the header (after ``sha256=``) using a
constant-time comparison, and refuse timestamps more than a few minutes old
(a replayed request). The body is identical on every attempt; drop repeats by
``event_id`` (delivery is at least once).

Any 2xx answer means delivered. Anything else (another status, a refused
connection, no answer within ``DISPATCHER_WEBHOOK_TIMEOUT`` seconds;
redirects are not followed) is retried after ``DISPATCHER_WEBHOOK_BACKOFF``
seconds, doubling each time (at most ``DISPATCHER_WEBHOOK_BACKOFF_MAX``),
until ``DISPATCHER_WEBHOOK_MAX_ATTEMPTS`` attempts; then the delivery is
``failed`` with its last error, listed at ``GET /api/dispatcher/webhooks/failed``
and re-queued by ``POST /api/dispatcher/webhooks/{id}/retry``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import aiohttp

from shopmesh.dispatcher.domain import (
    Delivery,
    DeliveryNotFailed,
    DeliveryNotFound,
    DeliveryStatus,
    retry_delay,
    sign,
)
from shopmesh.dispatcher.repository import DispatcherUnitOfWork
from shopmesh.dispatcher.service import PAUSE_AFTER_ERROR
from shopmesh.dispatcher.settings import Settings
from shopmesh.kit.aio import Alarm, retrying
from shopmesh.kit.clock import utcnow

log = logging.getLogger(__name__)

EVENT_TYPE = "order.dispatched"
# A claimed attempt is someone else's to retry only well after its call must have ended.
_LEASE_MARGIN = timedelta(seconds=30)
_ERROR_BODY_BYTES = 200


class WebhookNotifier:
    """Delivers queued webhook calls (run :meth:`run` as a background task)."""

    def __init__(self, units: Callable[[], DispatcherUnitOfWork], *, settings: Settings) -> None:
        self._units = units
        self._settings = settings
        self._alarm = Alarm(settings.webhook_poll_interval)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    def notify(self) -> None:
        """Wake the worker: deliveries were just queued (or a call finished)."""
        self._alarm.ring()

    async def run(self) -> None:
        """Deliver until cancelled; calls in flight are cancelled with it."""
        async with aiohttp.ClientSession() as http:
            self._http = http
            try:
                await self._loop()
            finally:
                calls = list(self._in_flight)
                for task in calls:
                    task.cancel()
                await asyncio.gather(*calls, return_exceptions=True)

    async def _loop(self) -> None:
        await retrying(self._round, what="webhook worker", pause=PAUSE_AFTER_ERROR, log=log)

    async def _round(self) -> None:
        """Start the due calls, then sleep until the next pending delivery is due (at most
        ``webhook_poll_interval``). With every call slot busy, until a call finishes."""
        await self.start_due()
        next_due = None
        if len(self._in_flight) < self._settings.webhook_concurrency:
            async with self._units() as uow:
                next_due = await uow.deliveries.next_attempt_at()
        await self._alarm.sleep(next_due)

    async def start_due(self) -> int:
        """Claim due deliveries (as many as free call slots) and start their calls."""
        free = self._settings.webhook_concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        now = utcnow()
        async with self._units() as uow:
            ids = await uow.deliveries.due_ids(now=now, limit=free)
        lease_until = now + timedelta(seconds=self._settings.webhook_timeout) + _LEASE_MARGIN
        started = 0
        for delivery_id in ids:
            async with self._units() as uow:
                delivery = await uow.deliveries.claim(delivery_id, now=now, lease_until=lease_until)
            if delivery is not None:
                self._start(delivery)
                started += 1
        return started

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._attempt(delivery))
        self._in_flight.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._in_flight.discard(done)
            self.notify()  # a call slot is free again

        task.add_done_callback(finished)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            error = await self._post(delivery)
            await self._record(delivery, error)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The attempt stays counted; its lease runs out and it is tried again.
            log.warning("webhook %s: outcome not recorded: %s", delivery.id, type(exc).__name__)

    async def _post(self, delivery: Delivery) -> str | None:
        """Make the call; None when the receiver answered 2xx, else what went wrong."""
        if self._http is None:
            raise RuntimeError("the webhook worker is not running")
        body = delivery.payload.encode()
        timeout = self._settings.webhook_timeout
        try:
            async with self._http.post(
                delivery.url,
                data=body,
                headers=self._headers(delivery, body),
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                if 200 <= response.status < 300:
                    return None
                text = await response.content.read(_ERROR_BODY_BYTES)
                return f"HTTP {response.status}: {text.decode('utf-8', 'replace')}".strip()
        except TimeoutError:
            return f"no answer within {timeout:g}s"
        except (aiohttp.ClientError, ValueError) as exc:
            return f"{type(exc).__name__}: {str(exc)[:300]}"

    def _headers(self, delivery: Delivery, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        return {
            "Content-Type": "application/json",
            "User-Agent": "ShopMesh-Dispatcher",
            "X-ShopMesh-Event": EVENT_TYPE,
            "X-ShopMesh-Delivery": str(delivery.id),
            "X-ShopMesh-Timestamp": str(timestamp),
            "X-ShopMesh-Signature": sign(
                self._settings.webhook_secret, timestamp=timestamp, body=body
            ),
        }

    async def _record(self, delivery: Delivery, error: str | None) -> None:
        now = utcnow()
        async with self._units() as uow:
            if error is None:
                await uow.deliveries.record_delivered(
                    delivery.id, attempts=delivery.attempts, now=now
                )
                return
            retry_at = None
            if delivery.attempts < self._settings.webhook_max_attempts:
                delay = retry_delay(
                    delivery.attempts,
                    base=self._settings.webhook_backoff,
                    cap=self._settings.webhook_backoff_max,
                )
                retry_at = now + timedelta(seconds=delay)
            await uow.deliveries.record_failure(
                delivery.id, attempts=delivery.attempts, error=error, retry_at=retry_at
            )
        if retry_at is None:
            log.warning("webhook %s to %s failed: %s", delivery.id, delivery.url, error)

    async def failed(self, *, limit: int, offset: int) -> list[Delivery]:
        """Deliveries given up on, newest first."""
        async with self._units() as uow:
            return await uow.deliveries.newest_first(
                status=DeliveryStatus.FAILED, limit=limit, offset=offset
            )

    async def retry(self, delivery_id: int) -> Delivery:
        """Re-queue a failed delivery with a fresh set of attempts."""
        async with self._units() as uow:
            requeued = await uow.deliveries.requeue_failed(delivery_id, now=utcnow())
            delivery = await uow.deliveries.get(delivery_id)
        if delivery is None:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        if not requeued:
            raise DeliveryNotFailed(
                f"webhook delivery {delivery_id} is {delivery.status.value}, not failed"
            )
        self.notify()
        return delivery
