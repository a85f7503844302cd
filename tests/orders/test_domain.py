"""Pure rules: pricing from a reservation answer, and the events an order announces."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from shopmesh.orders.domain import (
    Order,
    OrderCancelled,
    OrderCreated,
    OrderLine,
    OrderStatus,
    TotalTooLarge,
    UnusableReservation,
    order_event,
    price_lines,
)

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
LINES = [OrderLine(3, 2), OrderLine(4, 1)]
REFS = ["ref-a", "ref-b"]


def answer(**changes: Any) -> dict[str, Any]:
    lines = [
        {
            "reservation_id": "ref-b",
            "product_id": 4,
            "quantity": 1,
            "unit_price": 0.1,
            "currency": "EUR",
            "name": "Cup",
        },
        {
            "reservation_id": "ref-a",
            "product_id": 3,
            "quantity": 2,
            "unit_price": 19.99,
            "currency": "EUR",
            "name": "Tea",
            "stock": 3,
        },
    ]
    lines[1].update(changes)
    return {"lines": lines}


def test_lines_are_priced_from_the_answer_matched_by_reservation_id() -> None:
    tea, cup = price_lines(LINES, REFS, answer())

    assert (tea.reference, tea.product_name, tea.per_cost, tea.total_cost) == (
        "ref-a",
        "Tea",
        Decimal("19.99"),
        Decimal("39.98"),
    )
    assert (cup.reference, cup.per_cost, cup.total_cost, cup.currency) == (
        "ref-b",
        Decimal("0.10"),
        Decimal("0.10"),
        "EUR",
    )


def test_a_price_as_text_or_with_more_decimals_is_read_exactly_then_rounded() -> None:
    [tea, _] = price_lines(LINES, REFS, answer(unit_price="1.005"))

    assert (tea.per_cost, tea.total_cost) == (Decimal("1.00"), Decimal("2.00"))


@pytest.mark.parametrize(
    "bad",
    [
        {"product_id": 99},
        {"quantity": 5},
        {"reservation_id": "someone-else"},
        {"unit_price": -1},
        {"unit_price": "free"},
        {"unit_price": 10**11},
        {"currency": ""},
        {"name": None},
    ],
)
def test_an_answer_that_does_not_match_the_request_is_unusable(bad: dict[str, Any]) -> None:
    with pytest.raises(UnusableReservation):
        price_lines(LINES, REFS, answer(**bad))


@pytest.mark.parametrize("body", [None, [], {"lines": "x"}, {"nothing": 1}, "ok"])
def test_an_answer_of_the_wrong_shape_is_unusable(body: Any) -> None:
    with pytest.raises(UnusableReservation):
        price_lines(LINES, REFS, body)


def test_a_total_beyond_the_money_column_is_refused() -> None:
    with pytest.raises(TotalTooLarge):
        price_lines(LINES, REFS, answer(unit_price=9_000_000_000))


ORDER = Order(
    id=12,
    reference="ref-a",
    customer_id=5,
    product_id=3,
    product_name="Tea",
    quantity=2,
    per_cost=Decimal("19.99"),
    total_cost=Decimal("39.98"),
    currency="EUR",
    status=OrderStatus.CREATED,
    created_at=T0,
    updated_at=T0,
    updated_by="customer",
)


def test_a_created_order_announces_order_created_keyed_by_its_id() -> None:
    event = order_event(ORDER, producer="orders")

    assert isinstance(event, OrderCreated)
    assert event.key() == "12"
    wire = orjson.loads(event.to_bytes())
    assert wire["event_type"] == "order.created"
    assert (wire["status"], wire["per_cost"], wire["total_cost"]) == ("Created", 19.99, 39.98)
    assert {"event_id", "occurred_at", "producer", "reference", "customer_id"} <= set(wire)


def test_a_cancelled_order_announces_order_cancelled_with_its_update_time() -> None:
    later = datetime(2025, 5, 1, 13, 0, tzinfo=UTC)
    cancelled = replace(ORDER, status=OrderStatus.CANCELLED, updated_at=later)

    event = order_event(cancelled, producer="orders")

    assert isinstance(event, OrderCancelled)
    assert (event.event_type, event.status, event.updated_at) == (
        "order.cancelled",
        "Cancelled",
        later,
    )


def test_orders_never_announces_a_dispatch() -> None:
    with pytest.raises(ValueError, match="dispatcher"):
        order_event(replace(ORDER, status=OrderStatus.DISPATCHED), producer="orders")
