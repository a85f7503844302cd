"""A cancel racing the dispatch, on the dispatcher's ports in memory: orders decides (its fake
keeps orders' rule), the dispatcher ships only what orders confirmed, so each order ends in
exactly one outcome: shipped with its event and webhooks, or cancelled with neither. Also when
orders is away, when the dispatcher died after orders said yes, and with two instances."""

from __future__ import annotations

from typing import Any

import pytest

from shopmesh.dispatcher.domain import ShipmentStatus
from shopmesh.dispatcher.service import DispatchService
from shopmesh.kit.errors import ServiceUnavailable

from .support import cancelled, make_order
from .test_service import LATER, URLS, Dispatcher


def _paid(**overrides: Any) -> dict[str, Any]:
    return make_order(event_type="order.paid", status="Paid", **overrides)


def _outcome(d: Dispatcher, order: dict[str, Any]) -> tuple[str, ShipmentStatus, int, int]:
    """Orders' status, the shipment's, and how many events and webhook deliveries it made."""
    events = [e for e in d.store.events("order.dispatched") if e.id == order["id"]]
    deliveries = [x for x in d.store.deliveries.values() if x.order_id == order["id"]]
    return d.orders.status(order["id"]), d.shipment(order).status, len(events), len(deliveries)


SHIPPED = ("Dispatched", ShipmentStatus.DISPATCHED, 1, len(URLS))
WITHDRAWN = ("Cancelled", ShipmentStatus.CANCELLED, 0, 0)


async def test_a_cancel_committed_after_the_shipment_fell_due_wins_if_it_came_first() -> None:
    d = Dispatcher(handling_delay=60, webhook_urls=URLS)
    order = _paid()
    await d.apply(order)
    # Due now, and the dispatcher has not read order.cancelled yet: orders refuses it.
    assert d.orders.cancel(order["id"])
    assert await d.service.dispatch_due(now=LATER) == 0
    assert _outcome(d, order) == WITHDRAWN
    await d.apply(cancelled(order))  # read later: nothing more changes
    assert _outcome(d, order) == WITHDRAWN
    assert await d.service.dispatch_due(now=LATER) == 0
    assert d.store.published == []


async def test_a_dispatch_confirmed_first_makes_the_cancel_after_it_lose() -> None:
    d = Dispatcher(handling_delay=60, webhook_urls=URLS)
    order = _paid()
    await d.apply(order)
    assert await d.service.dispatch_due(now=LATER) == 1
    assert not d.orders.cancel(order["id"])  # the customer's 409 already_dispatched
    assert _outcome(d, order) == SHIPPED


async def test_in_one_batch_only_the_orders_orders_confirmed_leave() -> None:
    d = Dispatcher(handling_delay=60, webhook_urls=URLS)
    orders = [_paid() for _ in range(4)]
    await d.apply(*orders)
    for order in orders[1::2]:
        d.orders.cancel(order["id"])
    assert await d.service.dispatch_due(now=LATER) == 2
    assert d.orders.asked == [[o["id"] for o in orders]]  # one question for the batch
    assert [_outcome(d, o) for o in orders] == [SHIPPED, WITHDRAWN, SHIPPED, WITHDRAWN]


async def test_while_orders_cannot_answer_nothing_leaves_and_nothing_is_lost() -> None:
    d = Dispatcher(handling_delay=0, webhook_urls=URLS)
    order = _paid()
    await d.apply(order)
    d.orders.down = True
    with pytest.raises(ServiceUnavailable):
        await d.service.dispatch_due()
    assert d.shipment(order).status is ShipmentStatus.PENDING
    assert (d.store.published, d.store.deliveries) == ([], {})
    d.orders.down = False
    assert await d.service.dispatch_due() == 1
    assert _outcome(d, order) == SHIPPED


async def test_a_dispatcher_that_died_after_orders_said_yes_ships_once_on_the_next_round() -> None:
    d = Dispatcher(handling_delay=0, webhook_urls=URLS)
    order = _paid()
    await d.apply(order)
    await d.orders.decide([order["id"]])  # the dead instance's question; its commit never came
    assert not d.orders.cancel(order["id"])
    assert await d.service.dispatch_due() == 1
    assert await d.service.dispatch_due() == 0
    assert _outcome(d, order) == SHIPPED


async def test_two_instances_asking_about_one_order_ship_it_once() -> None:
    d = Dispatcher(handling_delay=60, webhook_urls=URLS)
    order = _paid()
    await d.apply(order)
    # A second instance on the same database, asking the same orders.
    other = DispatchService(d.units, orders=d.orders, settings=d.settings)
    counts = [await d.service.dispatch([order["id"]]), await other.dispatch([order["id"]])]
    assert counts == [1, 0]
    assert _outcome(d, order) == SHIPPED
