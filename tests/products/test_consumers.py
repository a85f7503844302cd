"""The order.cancelled handler, called directly: the order's reservation is released once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shopmesh.kit.events import EventEnvelope
from shopmesh.products.consumers import HANDLERS, on_order_cancelled
from shopmesh.products.repository import ProductsUnitOfWork

from .support import Products, line, new_reservation_id


def order_cancelled(reference: Any, **overrides: Any) -> dict[str, Any]:
    """An ``order.cancelled`` payload as orders sends it (contract fields plus the envelope)."""
    now = datetime.now(UTC).isoformat()
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "order.cancelled",
        "occurred_at": now,
        "producer": "orders",
        "id": 42,
        "reference": reference,
        "customer_id": 7,
        "product_id": 1,
        "quantity": 2,
        "per_cost": 10.0,
        "total_cost": 20.0,
        "currency": "USD",
        "status": "Cancelled",
        "created_at": now,
        "updated_at": now,
        **overrides,
    }


def envelope(payload: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope(
        event_id=str(payload["event_id"]),
        event_type=str(payload["event_type"]),
        payload=payload,
        topic="order-events",
    )


async def _handle(products: Products, payload: dict[str, Any]) -> None:
    async with products.runtime.units(ProductsUnitOfWork)() as uow:
        await on_order_cancelled(uow, envelope(payload))


def test_the_handler_is_registered_for_order_cancelled_and_payment_declined() -> None:
    assert list(HANDLERS) == ["order.cancelled", "order.payment_declined"]
    assert HANDLERS["order.cancelled"] is on_order_cancelled
    assert HANDLERS["order.payment_declined"] is on_order_cancelled


async def test_cancelled_order_releases_its_reservation_once(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    reserved = line(product["id"], 3)
    await products.reserve(reserved)
    event = order_cancelled(reserved["reservation_id"])
    await _handle(products, event)
    assert await products.stock(product["id"]) == 5
    # A replay (even as a new event about the same order) changes nothing.
    await _handle(products, event)
    await _handle(products, order_cancelled(reserved["reservation_id"]))
    assert await products.stock(product["id"]) == 5
    [(status,)] = await products.rows("SELECT status FROM stock_reservation")
    assert status == "released"


async def test_cancelling_after_an_explicit_release_changes_nothing(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    reserved = line(product["id"], 2)
    await products.reserve(reserved)
    assert (await products.release(reserved["reservation_id"])).json() == {"released": True}
    await _handle(products, order_cancelled(reserved["reservation_id"]))
    assert await products.stock(product["id"]) == 5


async def test_cancelled_order_without_reservation_changes_nothing(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    await products.reserve(line(product["id"], 1))
    await _handle(products, order_cancelled(new_reservation_id()))
    assert await products.stock(product["id"]) == 4


@pytest.mark.parametrize("reference", [None, "", "ORD-1", 12, ["x"]])
async def test_payload_without_a_valid_reference_raises(products: Products, reference: Any) -> None:
    # Raising makes the kit's consumer retry the event, then dead-letter it.
    with pytest.raises(ValidationError):
        await _handle(products, order_cancelled(reference))


async def test_payload_without_reference_raises(products: Products) -> None:
    payload = order_cancelled(new_reservation_id())
    del payload["reference"]
    with pytest.raises(ValidationError):
        await _handle(products, payload)
