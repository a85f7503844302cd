"""Orders' dispatch decision and the live listener's read-back of a batch of dispatches, on
each database; on PostgreSQL without a transaction (no BEGIN and COMMIT round trips)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from shopmesh.orders.domain import OrderStatus
from shopmesh.orders.live import LiveListener, StatusHub
from shopmesh.orders.repository import OrdersUnitOfWork

from .support import ALICE, Fakes, Orders, dispatched_message, orders_to_dispatch, running


@pytest.fixture
async def service(database_url: str, fakes: Fakes) -> AsyncIterator[Orders]:
    async with running(database_url, fakes.urls()) as orders:
        yield orders


@contextmanager
def simple_queries(orders: Orders) -> Iterator[list[str]]:
    """The driver's simple queries meanwhile (BEGIN and COMMIT are such); on PostgreSQL."""
    engine = orders.runtime.db.engine.sync_engine
    simple: list[str] = []
    drivers: list[Any] = []

    def log(query: Any) -> None:
        simple.append(query.query)

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if engine.dialect.name == "postgresql":
            drivers.append(dbapi_connection.driver_connection)
            drivers[-1].add_query_logger(log)

    event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield simple
    finally:
        event.remove(engine.pool, "checkout", on_checkout)
        for driver in drivers:
            driver.remove_query_logger(log)


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
    with simple_queries(service) as simple:
        confirmed = await service.confirm_dispatch(first, second, cancelled, unknown)
        told = await listener.handle_many(
            [dispatched_message(o) for o in (first, second, cancelled)]
        )
    assert simple == []

    assert confirmed == [first["id"], second["id"]]
    assert [(c.order_id, c.status) if c else None for c in told] == [
        (first["id"], OrderStatus.DISPATCHED),
        (second["id"], OrderStatus.DISPATCHED),
        None,
    ]
    for placed, status in ((first, "Dispatched"), (second, "Dispatched"), (cancelled, "Cancelled")):
        assert (await service.get(ALICE, placed["id"])).json()["status"] == status
