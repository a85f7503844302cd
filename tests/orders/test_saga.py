"""The orders side of the saga on its ports in memory: payments' outcomes applied once, cancel
before dispatch from every state, and a late outcome never overriding a cancel."""

from __future__ import annotations

from typing import Any

import pytest

from shopmesh.orders.domain import AlreadyDispatched, OrderStatus, PaymentNotice
from shopmesh.orders.service import PAYMENT_AUTHORIZED, PAYMENT_DECLINED, apply_payment

from .test_service import ALICE, World


@pytest.fixture
def world() -> World:
    return World()


async def _placed(world: World, quantity: int = 2) -> Any:
    tea = world.products.add("Tea", "1.50")
    [order] = (await world.place(ALICE, (tea, quantity))).value
    return order


async def _outcome(world: World, kind: str, order_id: int, **fields: Any) -> None:
    async with world.units() as uow:
        await apply_payment(uow, kind, PaymentNotice(order_id=order_id, **fields))


async def _dispatched(world: World, order_id: int) -> None:
    """The dispatcher asks orders to ship ``order_id`` (orders decides)."""
    await world.orders.confirm_dispatches([order_id])


def _after_placing(world: World) -> list[tuple[str, Any]]:
    return [(e.event_type, e.status) for e in world.store.published[1:]]


async def test_an_order_is_announced_as_awaiting_payment_with_its_checkout() -> None:
    for required in (True, False):
        world = World(require_payment=required)
        order = await _placed(world)
        [created] = world.store.published
        assert (created.payment_required, created.checkout_id) == (required, order.checkout_id)
        assert created.product_name == "Tea"


async def test_an_authorized_payment_makes_the_order_paid_once(world: World) -> None:
    order = await _placed(world)
    await _outcome(world, PAYMENT_AUTHORIZED, order.id, transaction_id=42)
    await _outcome(world, PAYMENT_AUTHORIZED, order.id, transaction_id=42)  # redelivered
    paid = world.store.orders[order.id]
    assert (paid.status, paid.transaction_id, paid.updated_by) == (
        OrderStatus.PAID,
        42,
        "payments",
    )
    assert _after_placing(world) == [("order.paid", "Paid")]
    assert world.store.published[-1].transaction_id == 42


async def test_a_declined_payment_is_announced_with_its_reason_and_never_becomes_paid(
    world: World,
) -> None:
    order = await _placed(world)
    await _outcome(world, PAYMENT_DECLINED, order.id, reason="limit_exceeded")
    await _outcome(world, PAYMENT_AUTHORIZED, order.id, transaction_id=1)
    declined = world.store.orders[order.id]
    assert (declined.status, declined.decline_reason) == (
        OrderStatus.PAYMENT_DECLINED,
        "limit_exceeded",
    )
    # products gives the stock back on this event (once per reservation).
    assert _after_placing(world) == [("order.payment_declined", "Payment declined")]
    assert world.store.published[-1].reason == "limit_exceeded"


@pytest.mark.parametrize("outcome", [None, PAYMENT_AUTHORIZED, PAYMENT_DECLINED])
async def test_an_order_not_dispatched_yet_can_be_cancelled_once(
    world: World, outcome: str | None
) -> None:
    order = await _placed(world)
    if outcome is not None:
        await _outcome(world, outcome, order.id, transaction_id=3)
    cancelled = await world.orders.cancel_order(ALICE, order.id)
    again = await world.orders.cancel_order(ALICE, order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert again == cancelled
    assert [kind for kind, _ in _after_placing(world)][-1] == "order.cancelled"
    assert sum(kind == "order.cancelled" for kind, _ in _after_placing(world)) == 1


async def test_a_payment_outcome_after_a_cancel_changes_nothing(world: World) -> None:
    order = await _placed(world)
    await world.orders.cancel_order(ALICE, order.id)
    await _outcome(world, PAYMENT_AUTHORIZED, order.id, transaction_id=3)
    await _outcome(world, PAYMENT_DECLINED, order.id, reason="limit_exceeded")
    await _dispatched(world, order.id)
    assert world.store.orders[order.id].status is OrderStatus.CANCELLED
    assert _after_placing(world) == [("order.cancelled", "Cancelled")]


async def test_a_paid_order_is_dispatched_and_then_cannot_be_cancelled(world: World) -> None:
    order = await _placed(world)
    await _outcome(world, PAYMENT_AUTHORIZED, order.id, transaction_id=3)
    await _dispatched(world, order.id)
    with pytest.raises(AlreadyDispatched):
        await world.orders.cancel_order(ALICE, order.id)
    assert world.store.orders[order.id].status is OrderStatus.DISPATCHED
    # A declined order is never shipped.
    declined = await _placed(world)
    await _outcome(world, PAYMENT_DECLINED, declined.id, reason="limit_exceeded")
    await _dispatched(world, declined.id)
    assert world.store.orders[declined.id].status is OrderStatus.PAYMENT_DECLINED


async def test_orders_decides_between_a_dispatch_and_a_cancel_whichever_comes_first(
    world: World,
) -> None:
    shipped, withdrawn = await _placed(world), await _placed(world)
    for order in (shipped, withdrawn):
        await _outcome(world, PAYMENT_AUTHORIZED, order.id, transaction_id=order.id)
    # The customer's cancel commits first: the dispatcher asking after it is refused.
    await world.orders.cancel_order(ALICE, withdrawn.id)
    confirmed = await world.orders.confirm_dispatches([shipped.id, withdrawn.id, 10**9])
    assert [order.id for order in confirmed] == [shipped.id]
    assert world.store.orders[shipped.id].status is OrderStatus.DISPATCHED
    assert world.store.orders[shipped.id].updated_by == "dispatcher"
    assert world.store.orders[withdrawn.id].status is OrderStatus.CANCELLED
    # The dispatch confirmed first: the cancel after it is refused.
    with pytest.raises(AlreadyDispatched):
        await world.orders.cancel_order(ALICE, shipped.id)
    # Asked again (a dispatcher that died before shipping): the same answer, nothing announced
    # by orders (the dispatcher's order.dispatched tells the world).
    again = await world.orders.confirm_dispatches([shipped.id, withdrawn.id])
    assert [order.id for order in again] == [shipped.id]
    assert [kind for kind, _ in _after_placing(world)].count("order.cancelled") == 1
    assert "order.dispatched" not in [kind for kind, _ in _after_placing(world)]


async def test_an_order_needing_no_payment_is_dispatched_from_created() -> None:
    world = World(require_payment=False)
    order = await _placed(world)
    [confirmed] = await world.orders.confirm_dispatches([order.id])
    assert confirmed.status is OrderStatus.DISPATCHED
    declined = await _placed(world)
    await _outcome(world, PAYMENT_DECLINED, declined.id, reason="limit_exceeded")
    assert await world.orders.confirm_dispatches([declined.id]) == []
