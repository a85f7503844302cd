"""Orders use cases: each change is one database transaction, its events written to the outbox.

Placing an order reserves stock at products first (no transaction is held
open across that call), then inserts the orders and their ``order.created``
events in one transaction; if that fails, the reservations are released.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shopmesh.kit.clock import utcnow
from shopmesh.kit.errors import Conflict, ServiceUnavailable
from shopmesh.kit.idempotency import IdempotentRequest, Outcome
from shopmesh.orders import remote
from shopmesh.orders.domain import (
    AlreadyDispatched,
    Order,
    OrderLine,
    OrderNotFound,
    OrderStatus,
    PaymentNotice,
    PricedLine,
    StatusChange,
    order_event,
    price_lines,
)
from shopmesh.orders.remote import CustomersClient, PendingReleases, ProductsClient
from shopmesh.orders.repository import Orders, OrdersUnitOfWork

PRODUCER = "orders"
PAYMENT_AUTHORIZED = "payment.authorized"
PAYMENT_DECLINED = "payment.declined"
log = logging.getLogger(__name__)

Notify = Callable[[StatusChange], object]


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with what the other services say about its product and customer (if they could)."""

    order: Order
    product: dict[str, Any] | None
    customer: dict[str, Any] | None


def fingerprint(key: str | None, lines: Sequence[OrderLine]) -> IdempotentRequest | None:
    """An ``Idempotency-Key`` and the lines it came with."""
    return IdempotentRequest.of(key, [[line.product_id, line.quantity] for line in lines])


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


class OrderService:
    """The orders use cases, each change in a unit of work from ``units``.

    ``notify`` hears each committed status change of this process (the app
    wires it to the live hub only when no Kafka listener does it).
    """

    def __init__(
        self,
        units: Callable[[], OrdersUnitOfWork],
        *,
        products: ProductsClient,
        customers: CustomersClient,
        notify: Notify | None = None,
        lookup_timeout: float = 2.0,
        pending: PendingReleases | None = None,
        require_payment: bool = True,
    ) -> None:
        self._units = units
        self._products = products
        self._customers = customers
        self._pending = pending
        self._notify = notify
        self._lookup_timeout = lookup_timeout
        self._require_payment = require_payment

    async def place_orders(
        self, customer_id: int, lines: Sequence[OrderLine], *, idempotency_key: str | None = None
    ) -> Outcome[list[Order]]:
        """Reserve the stock, then record one Created order per line and announce them."""
        request = fingerprint(idempotency_key, lines)
        if request is not None:
            earlier = await self._earlier(customer_id, request)
            if earlier is not None:
                return earlier
        references = [str(uuid.uuid4()) for _ in lines]
        # Durable before the reservation: if this process dies before the order is
        # recorded, the reaper finds the intent and gives the stock back.
        async with self._units() as uow:
            await uow.intents.add(references, now=utcnow())
        answer = await self._reserve(lines, references)
        try:
            priced = price_lines(lines, references, answer)
            orders = await self._record(customer_id, priced, request)
        except _KeyTaken:
            # Same key, same lines, committed first: ours are surplus.
            await self._release(references)
            return await self._replay_of_winner(customer_id, request)
        except BaseException:
            # Nothing was recorded: the stock must not stay reserved for nobody.
            await asyncio.shield(self._release(references))
            raise
        self._announce(orders)
        return Outcome(orders)

    async def _reserve(self, lines: Sequence[OrderLine], references: list[str]) -> Any:
        try:
            return await self._products.reserve(lines, references)
        except ServiceUnavailable:
            # A timed-out call may still have reserved: give it back if products hears us.
            await self._release(references)
            raise

    async def _release(self, references: Sequence[str]) -> None:
        await remote.release(self._products, references, pending=self._pending)

    async def _record(
        self, customer_id: int, lines: list[PricedLine], request: IdempotentRequest | None
    ) -> list[Order]:
        now = utcnow()
        async with self._units() as uow:
            if not await uow.intents.settle([line.reference for line in lines]):
                # The reaper took the reservation back (this request outlived the grace).
                raise ServiceUnavailable("the stock reservation expired, try again")
            checkout_id = str(uuid.uuid4())
            orders = await uow.orders.add(customer_id, lines, checkout_id=checkout_id, now=now)
            if request is not None:
                ids = [order.id for order in orders]
                if await uow.idempotency.claim(customer_id, request, now=now, result=ids):
                    raise _KeyTaken
            required = self._require_payment
            uow.outbox.add(
                *(order_event(o, producer=PRODUCER, payment_required=required) for o in orders)
            )
        return orders

    async def _replay_of_winner(
        self, customer_id: int, request: IdempotentRequest | None
    ) -> Outcome[list[Order]]:
        earlier = await self._earlier(customer_id, request)
        if earlier is None:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return earlier

    async def _earlier(
        self, customer_id: int, request: IdempotentRequest | None
    ) -> Outcome[list[Order]] | None:
        """The orders an earlier request with this key created, if there was one."""
        if request is None:
            return None
        async with self._units() as uow:
            order_ids = await uow.idempotency.find(customer_id, request)
            if order_ids is None:
                return None
            orders = await uow.orders.by_ids(customer_id, list(order_ids))
        return Outcome(orders, replayed=True)

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
        async with self._units() as uow:
            orders = await uow.orders.of_customer(
                customer_id, status=status, limit=limit, offset=offset
            )
        return await self._views(orders, authorization=authorization)

    async def get_order(self, customer_id: int, order_id: int, *, authorization: str) -> OrderView:
        """One of the customer's orders (someone else's is not found, like a missing one)."""
        async with self._units() as uow:
            order = await uow.orders.get(order_id, customer_id=customer_id)
        if order is None:
            raise OrderNotFound()
        [view] = await self._views([order], authorization=authorization)
        return view

    async def _views(self, orders: list[Order], *, authorization: str) -> list[OrderView]:
        """Decorate ``orders`` from one products call and one customers call, both optional."""
        if not orders:
            return []
        timeout = self._lookup_timeout
        products, customer = await asyncio.gather(
            remote.at_most(
                self._products.by_ids(o.product_id for o in orders),
                timeout=timeout,
                what="products",
            ),
            remote.at_most(
                self._customers.profile(authorization), timeout=timeout, what="customers"
            ),
        )
        products = products or {}
        return [OrderView(o, products.get(o.product_id), customer) for o in orders]

    async def cancel_order(self, customer_id: int, order_id: int) -> Order:
        """Cancel an order not dispatched yet (its stock comes back and its charge is voided, by
        ``order.cancelled``); a cancelled one comes back as is; a dispatched one is refused."""
        async with self._units() as uow:
            order = await uow.orders.cancel(order_id, customer_id=customer_id, now=utcnow())
            if order is None:
                return await _why_not_cancelled(uow.orders, order_id, customer_id)
            uow.outbox.add(order_event(order, producer=PRODUCER))
        self._announce([order])
        return order

    async def confirm_dispatches(self, order_ids: Sequence[int]) -> list[Order]:
        """The dispatcher asks to ship ``order_ids``; the orders among them that are Dispatched
        now, and only those, may leave.

        Orders decides, in one conditional UPDATE per row: one still Paid (or Created, when it
        needed no payment) becomes Dispatched; one cancelled first stays Cancelled; a cancel
        after it finds it Dispatched (409). Asking again answers the same (idempotent).
        """
        # Two statements, each committing by itself: the read after the UPDATE also sees an
        # order another instance moved just before (in one statement's snapshot it would
        # still look Paid, and be refused although it ships).
        async with self._units() as uow:
            await uow.orders.mark_all_dispatched(order_ids, now=utcnow())
            orders = await uow.orders.by_ids(None, order_ids)
        # The live streams hear it from the dispatcher's order.dispatched, once it shipped.
        return [o for o in orders if o.status is OrderStatus.DISPATCHED]

    def _announce(self, orders: list[Order]) -> None:
        if self._notify is not None:
            for order in orders:
                self._notify(order.status_change())


async def _why_not_cancelled(orders: Orders, order_id: int, customer_id: int) -> Order:
    order = await orders.get(order_id, customer_id=customer_id)
    if order is None:
        raise OrderNotFound()
    if order.status is OrderStatus.DISPATCHED:
        raise AlreadyDispatched()
    return order  # already cancelled: cancelling again changes nothing


async def apply_payment(uow: OrdersUnitOfWork, event_type: str, notice: PaymentNotice) -> None:
    """``payment.authorized`` / ``payment.declined`` in the caller's unit of work: a Created
    order becomes Paid (``order.paid``: the dispatcher ships it) or Payment declined
    (``order.payment_declined``: products gives its stock back). Idempotent: an order that is
    no longer Created (paid already, cancelled meanwhile) is left as it is."""
    now = utcnow()
    if event_type == PAYMENT_AUTHORIZED:
        order = await uow.orders.mark_paid(
            notice.order_id, transaction_id=notice.transaction_id, now=now
        )
    else:
        order = await uow.orders.mark_declined(notice.order_id, reason=notice.reason, now=now)
    if order is not None:
        uow.outbox.add(order_event(order, producer=PRODUCER))
