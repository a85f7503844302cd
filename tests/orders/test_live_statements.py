"""Orders' dispatch decision and the live listener's read-back of a batch of dispatches, on
each database; on PostgreSQL without a transaction (no BEGIN and COMMIT round trips)."""

from __future__ import annotations

from shopmesh.orders.domain import OrderStatus
from shopmesh.orders.live import LiveListener, StatusHub
from shopmesh.orders.repository import OrdersUnitOfWork
from tests.support import round_trips

from .support import ALICE, Fakes, Orders, dispatched_message, orders_to_dispatch


async def test_a_batch_of_dispatches_is_decided_and_read_back_without_a_transaction(
    service: Orders, fakes: Fakes
) -> None:
    first, second, cancelled, unknown = await orders_to_dispatch(service, fakes)
    listener = LiveListener(
        service.runtime.units(OrdersUnitOfWork),
        StatusHub(),
        bootstrap="unused:1",
        group_id="test",
        topic="order-events",
    )
    with round_trips(service.runtime.db.engine) as sent:
        confirmed = await service.confirm_dispatch(first, second, cancelled, unknown)
        told = await listener.handle_many(
            [dispatched_message(o) for o in (first, second, cancelled)]
        )
    assert sent.simple == []

    assert confirmed == [first["id"], second["id"]]
    assert [(c.order_id, c.status) if c else None for c in told] == [
        (first["id"], OrderStatus.DISPATCHED),
        (second["id"], OrderStatus.DISPATCHED),
        None,
    ]
    for placed, status in ((first, "Dispatched"), (second, "Dispatched"), (cancelled, "Cancelled")):
        assert (await service.get(ALICE, placed["id"])).json()["status"] == status
