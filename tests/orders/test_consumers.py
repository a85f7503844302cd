"""The durable consumer's ``order.dispatched`` handler, on each database (no Kafka here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from shopmesh.kit.events import EventEnvelope
from shopmesh.orders.consumers import HANDLERS, on_events
from shopmesh.orders.repository import OrdersUnitOfWork

from .support import ALICE, Fakes, Orders, at, dispatched_message, orders_to_dispatch, running


@pytest.fixture
async def service(database_url: str, fakes: Fakes) -> AsyncIterator[Orders]:
    async with running(database_url, fakes.urls()) as orders:
        yield orders


def dispatched(order: dict[str, Any], **overrides: Any) -> EventEnvelope:
    """The envelope the consumer hands its handler for the dispatcher's message."""
    return EventEnvelope.parse(dispatched_message(order, **overrides), topic="order-events")


async def apply(orders: Orders, envelope: EventEnvelope) -> None:
    """Run the handler in one transaction, as the kit's consumer does."""
    async with orders.runtime.units(OrdersUnitOfWork)() as uow:
        await HANDLERS[envelope.event_type](uow, envelope)


async def test_dispatched_marks_a_created_order_dispatched_by_the_dispatcher(
    service: Orders, fakes: Fakes
) -> None:
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "1.00"))

    await apply(service, dispatched(placed))

    order = (await service.get(ALICE, placed["id"])).json()
    assert (order["status"], order["updated_by"]) == ("Dispatched", "dispatcher")
    assert at(order["updated_at"]) > at(placed["updated_at"])


async def test_a_dispatch_without_an_order_id_is_rejected_for_the_dead_letter_topic(
    service: Orders,
) -> None:
    with pytest.raises(ValidationError):
        await apply(
            service,
            dispatched(
                {
                    "id": None,
                    "reference": "",
                    "customer_id": 1,
                    "product_id": 1,
                    "quantity": 1,
                    "total_cost": 1,
                    "created_at": "",
                }
            ),
        )


async def apply_batch(orders: Orders, *envelopes: EventEnvelope) -> None:
    """Run the batch handler in one transaction, as the kit's consumer does."""
    async with orders.runtime.units(OrdersUnitOfWork)() as uow:
        await on_events(uow, envelopes)


async def test_a_batch_of_dispatches_is_applied_as_one_by_one_would_be(
    service: Orders, fakes: Fakes
) -> None:
    first, second, cancelled, unknown = await orders_to_dispatch(service, fakes)

    await apply_batch(
        service,
        dispatched(first),
        dispatched(cancelled),
        dispatched(unknown),
        dispatched(second),
        dispatched(first),  # the same news twice
    )

    for placed, status in ((first, "Dispatched"), (second, "Dispatched"), (cancelled, "Cancelled")):
        order = (await service.get(ALICE, placed["id"])).json()
        assert order["status"] == status
    assert (await service.get(ALICE, first["id"])).json()["updated_by"] == "dispatcher"


async def test_a_batch_with_a_malformed_dispatch_fails_whole(service: Orders, fakes: Fakes) -> None:
    # The kit's consumer then retries the batch event by event and dead-letters the bad one.
    placed = await service.place_one(ALICE, fakes.products.add("Tea", "1.00"))
    with pytest.raises(ValidationError):
        await apply_batch(service, dispatched(placed), dispatched(placed, id="seven"))
    assert (await service.get(ALICE, placed["id"])).json()["status"] == "Created"
