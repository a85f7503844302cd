"""Live order status: an in-process hub of stream subscribers, fed by a per-instance Kafka listener.

Every orders instance runs its own :class:`LiveListener` in a consumer group
of its own, so each instance hears every ``order-events`` message and tells
the customers streaming from it. It changes nothing: the database is right
before any event says so. Orders marks an order Dispatched when the dispatcher
asks (``POST /api/orders/dispatches``), before the dispatcher ships it and
announces ``order.dispatched``; the listener reads those orders back and tells
only the ones that are Dispatched, so a customer who sees ``Dispatched`` on the
stream reads it back from any instance, and a cancelled order is never shown
dispatched.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from shopmesh.kit.aio import retrying
from shopmesh.kit.events import EventEnvelope, MalformedEvent
from shopmesh.kit.kafka import KafkaNamespace, ensure_topics
from shopmesh.orders.domain import (
    STATUS_EVENTS,
    DispatchedNotice,
    OrderStatus,
    StatusChange,
    StatusNotice,
)
from shopmesh.orders.repository import OrdersUnitOfWork

log = logging.getLogger(__name__)


class Subscription:
    """One stream's queue of status changes; dropped when its reader falls too far behind."""

    def __init__(self, customer_id: int, *, queue_size: int) -> None:
        self.customer_id = customer_id
        self.dropped = False
        self._queue: asyncio.Queue[StatusChange] = asyncio.Queue(queue_size)

    def offer(self, change: StatusChange) -> bool:
        """Queue ``change`` without waiting; a full queue drops the subscription instead."""
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self.dropped = True
            return False
        return True

    async def next(self, *, timeout: float) -> StatusChange | None:
        """The next change, or ``None`` after ``timeout`` seconds without one."""
        try:
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        except TimeoutError:
            return None


class StatusHub:
    """Fans status changes out to the streams of the order's customer, and only theirs."""

    def __init__(self, *, queue_size: int = 100) -> None:
        self._queue_size = queue_size
        self._subscribers: defaultdict[int, set[Subscription]] = defaultdict(set)

    @contextmanager
    def subscribe(self, customer_id: int) -> Iterator[Subscription]:
        """A subscription to ``customer_id``'s changes, removed when the block ends."""
        subscription = Subscription(customer_id, queue_size=self._queue_size)
        self._subscribers[customer_id].add(subscription)
        try:
            yield subscription
        finally:
            self._remove(subscription)

    def publish(self, change: StatusChange) -> int:
        """Hand ``change`` to each of its customer's streams; returns how many took it."""
        delivered = 0
        for subscription in list(self._subscribers.get(change.customer_id, ())):
            if subscription.offer(change):
                delivered += 1
            else:
                # A slow reader must not hold the others up: it is dropped, and reconnects.
                log.warning("dropping a slow status stream of customer %s", change.customer_id)
                self._remove(subscription)
        return delivered

    def subscribers(self, customer_id: int | None = None) -> int:
        """How many streams are open (for one customer, or in all)."""
        if customer_id is not None:
            return len(self._subscribers.get(customer_id, ()))
        return sum(len(subs) for subs in self._subscribers.values())

    def _remove(self, subscription: Subscription) -> None:
        subs = self._subscribers.get(subscription.customer_id)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._subscribers[subscription.customer_id]


class LiveListener:
    """Reads ``topic`` from its end as a group of its own and feeds the hub.

    ``ready`` is set once partitions are assigned and their positions known:
    from then on no message is missed. ``topic`` and ``group_id`` are plain names: on the
    broker they are in ``namespace``.
    """

    def __init__(
        self,
        units: Callable[[], OrdersUnitOfWork],
        hub: StatusHub,
        *,
        bootstrap: str,
        group_id: str,
        topic: str,
        retry_backoff: float = 1.0,
        replication: int = 1,
        namespace: KafkaNamespace = KafkaNamespace(),
    ) -> None:
        self._units = units
        self._hub = hub
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topic = topic
        self._replication = replication
        self._namespace = namespace
        self._retry_backoff = retry_backoff
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Listen forever; reconnects after Kafka outages."""
        await retrying(
            self._listen, what=f"live listener {self._group_id}", pause=self._retry_backoff, log=log
        )

    async def _listen(self) -> None:
        topic = self._namespace.topic(self._topic)
        await ensure_topics(self._bootstrap, [topic], replication=self._replication)
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self._bootstrap,
            group_id=self._namespace.group(self._group_id),
            client_id=self._group_id,
            enable_auto_commit=False,  # a new process starts from the end anyway
            auto_offset_reset="latest",
            isolation_level="read_committed",
        )
        try:
            # Inside the try: a stop while still starting must close what start opened.
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                await self._settle(consumer)
                values = [record.value for records in batches.values() for record in records]
                if values:
                    await self.handle_many(values)
        finally:
            self.ready.clear()
            await consumer.stop()

    async def _settle(self, consumer: AIOKafkaConsumer) -> None:
        if self.ready.is_set() or not consumer.assignment():
            return
        for partition in consumer.assignment():
            await consumer.position(partition)  # resolves "latest" now, not at the next fetch
        self.ready.set()

    async def handle(self, value: bytes | None) -> StatusChange | None:
        """Tell the hub one message's change; returns the change announced, if any."""
        [change] = await self.handle_many([value])
        return change

    async def handle_many(self, values: Sequence[bytes | None]) -> list[StatusChange | None]:
        """Tell the hub a fetched batch's changes, in the messages' order; the change each
        message announced, if any.

        The dispatched orders of the whole batch are read back in one statement: one
        message at a time, this listener could not keep up with the orders placed (and
        every customer's stream waited behind it).
        """
        notices: list[StatusChange | int | None] = [self._notice_of(value) for value in values]
        dispatched = [notice for notice in notices if isinstance(notice, int)]
        current = await self._dispatched(dispatched) if dispatched else {}
        changes = [current.get(notice) if isinstance(notice, int) else notice for notice in notices]
        for change in changes:
            if change is not None:
                self._hub.publish(change)
        return changes

    def _notice_of(self, value: bytes | None) -> StatusChange | int | None:
        """The change a message announces, or the id of the order it says was dispatched."""
        try:
            envelope = EventEnvelope.parse(value, topic=self._topic)
            if envelope.event_type == "order.dispatched":
                return DispatchedNotice.model_validate(envelope.payload).id
            if envelope.event_type in STATUS_EVENTS:
                return StatusNotice.model_validate(envelope.payload).change()
        except (MalformedEvent, ValidationError) as exc:
            log.warning("live listener skipped a message: %s", str(exc)[:200])
        return None

    async def _dispatched(self, order_ids: list[int]) -> dict[int, StatusChange]:
        """Read the dispatched orders back (orders marked them when the dispatcher asked): the
        change of each order that is Dispatched (unknown or cancelled ones: none)."""
        try:
            async with self._units() as uow:
                orders = await uow.orders.by_ids(None, order_ids)
        except Exception as exc:
            # The database is away: nobody is told what GET could not confirm yet.
            log.warning("live listener could not read orders back: %s", type(exc).__name__)
            return {}
        return {
            order.id: order.status_change()
            for order in orders
            if order.status is OrderStatus.DISPATCHED
        }
