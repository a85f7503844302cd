"""Kafka handlers: ``order.cancelled`` / ``order.payment_declined`` in, the reservation released.

The kit's consumer records each event id in the same unit of work
as the handler's effect, so a redelivered event changes nothing; the release
itself is idempotent too (a reservation gives its stock back once). A payload
without a valid ``reference`` raises: the consumer retries it, then dead-letters it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope
from shopmesh.products.domain import OrderCancelled
from shopmesh.products.repository import ProductsUnitOfWork
from shopmesh.products.service import release_in
from shopmesh.products.settings import Settings

log = logging.getLogger(__name__)


async def on_order_cancelled(uow: ProductsUnitOfWork, envelope: EventEnvelope) -> None:
    """``order.cancelled``: the stock reserved under the order's reference comes back."""
    event = OrderCancelled.model_validate(envelope.payload)
    released = await release_in(uow.stock, str(event.reference))
    log.info(
        "order cancelled",
        extra={"reference": str(event.reference), "released": released},
    )


# A declined payment gives the stock back as a cancel does (a release happens once per
# reservation, so cancelling a declined order later changes nothing).
HANDLERS: dict[str, Handler[ProductsUnitOfWork]] = {
    "order.cancelled": on_order_cancelled,
    "order.payment_declined": on_order_cancelled,
}


def order_events_consumer(
    settings: Settings, units: Callable[[], ProductsUnitOfWork]
) -> EventConsumer[ProductsUnitOfWork]:
    """The consumer of the order events topic (see ``order_events_fetch_wait``)."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[settings.order_events_topic],
        handlers=HANDLERS,
        fetch_wait=settings.order_events_fetch_wait,
    )
