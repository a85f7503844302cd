"""Orders use cases: each change is one database transaction, its events written to the outbox.

Placing an order reserves stock at products first (no transaction is held
open across that call), then inserts the orders and their ``order.created``
events in one transaction; if that fails, the reservations are released.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from shopmesh.kit.app import ServiceRuntime
from shopmesh.kit.db import Executor
from shopmesh.kit.errors import Conflict, ServiceUnavailable
from shopmesh.kit.outbox import add_events
from shopmesh.orders import remote
from shopmesh.orders import repository as repo
from shopmesh.orders.domain import (
    AlreadyDispatched,
    IdempotencyKeyReused,
    Order,
    OrderLine,
    OrderNotFound,
    OrderStatus,
    PricedLine,
    StatusChange,
    order_event,
    price_lines,
)

PRODUCER = "orders"
log = logging.getLogger(__name__)

Notify = Callable[[StatusChange], object]


@dataclass(frozen=True, slots=True)
class Placed:
    """The orders a request created; ``replayed`` when an earlier request with its key did."""

    orders: list[Order]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with what the other services say about its product and customer (if they could)."""

    order: Order
    product: dict[str, Any] | None
    customer: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """An ``Idempotency-Key`` and a fingerprint of the lines it came with."""

    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str | None, lines: Sequence[OrderLine]) -> IdempotentRequest | None:
        if key is None:
            return None
        canonical = orjson.dumps([[line.product_id, line.quantity] for line in lines])
        return cls(key=key, request_hash=hashlib.sha256(canonical).hexdigest())


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


class OrderService:
    """The orders use cases over one service runtime.

    ``notify`` hears each committed status change of this process (the app
    wires it to the live hub only when no Kafka listener does it).
    """

    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        notify: Notify | None = None,
        lookup_timeout: float = 2.0,
        pending: remote.PendingReleases | None = None,
    ) -> None:
        self._runtime = runtime
        self._pending = pending
        self._notify = notify
        self._lookup_timeout = lookup_timeout

    async def place_orders(
        self, customer_id: int, lines: Sequence[OrderLine], *, idempotency_key: str | None = None
    ) -> Placed:
        """Reserve the stock, then record one Created order per line and announce them."""
        request = IdempotentRequest.of(idempotency_key, lines)
        if request is not None:
            earlier = await self._earlier(customer_id, request)
            if earlier is not None:
                return earlier
        references = [str(uuid.uuid4()) for _ in lines]
        # Durable before the reservation: if this process dies before the order is
        # recorded, the reaper finds the intent and gives the stock back. One statement.
        async with self._runtime.connection(autocommit=True) as connection:
            await repo.add_intents(connection, references, now=datetime.now(UTC))
        answer = await self._reserve(lines, references)
        try:
            priced = price_lines(lines, references, answer)
            orders = await self._record(customer_id, priced, request)
        except _KeyTaken:
            # Same key, same lines, committed first: ours are surplus.
            await remote.release(self._runtime.client, references, pending=self._pending)
            return await self._replay_of_winner(customer_id, request)
        except BaseException:
            # Nothing was recorded: the stock must not stay reserved for nobody.
            await asyncio.shield(
                remote.release(self._runtime.client, references, pending=self._pending)
            )
            raise
        self._announce(orders)
        return Placed(orders)

    async def _reserve(self, lines: Sequence[OrderLine], references: list[str]) -> Any:
        try:
            return await remote.reserve(self._runtime.client, lines, references)
        except ServiceUnavailable:
            # A timed-out call may still have reserved: give it back if products hears us.
            await remote.release(self._runtime.client, references, pending=self._pending)
            raise

    async def _record(
        self, customer_id: int, lines: list[PricedLine], request: IdempotentRequest | None
    ) -> list[Order]:
        now = datetime.now(UTC)
        # Core statements on a connection: the hot path skips the ORM session's bookkeeping.
        async with self._runtime.connection() as connection:
            if not await repo.settle_intents(connection, [line.reference for line in lines]):
                # The reaper took the reservation back (this request outlived the grace).
                raise ServiceUnavailable("the stock reservation expired, try again")
            orders = await repo.add_orders(connection, customer_id, lines, now=now)
            if request is not None and not await repo.claim_idempotency_key(
                connection,
                customer_id,
                key=request.key,
                request_hash=request.request_hash,
                order_ids=[order.id for order in orders],
                now=now,
            ):
                raise _KeyTaken
            await add_events(connection, *(order_event(o, producer=PRODUCER) for o in orders))
        return orders

    async def _replay_of_winner(
        self, customer_id: int, request: IdempotentRequest | None
    ) -> Placed:
        earlier = await self._earlier(customer_id, request)
        if earlier is None:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return earlier

    async def _earlier(self, customer_id: int, request: IdempotentRequest | None) -> Placed | None:
        """The orders an earlier request with this key created, if there was one."""
        if request is None:
            return None
        async with self._runtime.transaction() as session:
            record = await repo.idempotency_record(session, customer_id, request.key)
            if record is None:
                return None
            if record.request_hash != request.request_hash:
                raise IdempotencyKeyReused()
            orders = await repo.orders_by_ids(session, customer_id, list(record.order_ids))
        return Placed(orders, replayed=True)

    async def list_orders(
        self,
        customer_id: int,
        *,
        authorization: str,
        status: OrderStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OrderView]:
        """The customer's orders, newest first, with their products and the customer's profile."""
        async with self._runtime.transaction() as session:
            orders = await repo.list_orders(
                session, customer_id, status=status, limit=limit, offset=offset
            )
        return await self._views(orders, authorization=authorization)

    async def get_order(self, customer_id: int, order_id: int, *, authorization: str) -> OrderView:
        """One of the customer's orders (someone else's is not found, like a missing one)."""
        async with self._runtime.transaction() as session:
            order = await repo.get_order(session, order_id, customer_id=customer_id)
        if order is None:
            raise OrderNotFound()
        [view] = await self._views([order], authorization=authorization)
        return view

    async def _views(self, orders: list[Order], *, authorization: str) -> list[OrderView]:
        """Decorate ``orders`` from one products call and one customers call, both optional."""
        if not orders:
            return []
        client, timeout = self._runtime.client, self._lookup_timeout
        products, customer = await asyncio.gather(
            remote.at_most(
                remote.products_by_id(client, (o.product_id for o in orders)),
                timeout=timeout,
                what="products",
            ),
            remote.at_most(
                remote.customer_profile(client, authorization), timeout=timeout, what="customers"
            ),
        )
        products = products or {}
        return [OrderView(o, products.get(o.product_id), customer) for o in orders]

    async def cancel_order(self, customer_id: int, order_id: int) -> Order:
        """Cancel a Created order; a cancelled one comes back as is; a dispatched one is refused."""
        async with self._runtime.transaction() as session:
            order = await repo.cancel(
                session, order_id, customer_id=customer_id, now=datetime.now(UTC)
            )
            if order is None:
                return await _why_not_cancelled(session, order_id, customer_id)
            await add_events(session, order_event(order, producer=PRODUCER))
        self._announce([order])
        return order

    def _announce(self, orders: list[Order]) -> None:
        if self._notify is not None:
            for order in orders:
                self._notify(order.status_change())


async def _why_not_cancelled(session: AsyncSession, order_id: int, customer_id: int) -> Order:
    order = await repo.get_order(session, order_id, customer_id=customer_id)
    if order is None:
        raise OrderNotFound()
    if order.status is OrderStatus.DISPATCHED:
        raise AlreadyDispatched()
    return order  # already cancelled: cancelling again changes nothing


async def mark_all_dispatched(session: Executor, order_ids: Sequence[int]) -> None:
    """Apply ``order.dispatched`` for ``order_ids`` in the caller's transaction, in one
    statement (idempotent): Created orders become Dispatched; cancelled, already
    dispatched or unknown ones are left as they are."""
    await repo.mark_all_dispatched(session, order_ids, now=datetime.now(UTC))


async def current_orders(session: Executor, order_ids: Sequence[int]) -> list[Order]:
    """The orders among ``order_ids`` as they are now, whoever owns them (for the live stream)."""
    return await repo.orders_by_ids(session, None, order_ids)
