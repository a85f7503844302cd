"""Placing orders: stock reserved at products first, prices from products only, all or nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .fakes import closed_port_url
from .support import ALICE, Fakes, Orders, running

EMPTY = {"customer_order": 0, "outbox_message": 0, "idempotency_record": 0}


async def test_one_line_becomes_one_order_priced_by_products(orders: Orders, fakes: Fakes) -> None:
    tea = fakes.products.add("Green tea", "4.20", stock=10)

    response = await orders.place(ALICE, {"product_id": tea, "quantity": 3})

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["customer_id"] == ALICE
    assert (order["product_id"], order["product_name"], order["quantity"]) == (tea, "Green tea", 3)
    assert (order["per_cost"], order["total_cost"], order["currency"]) == (4.2, 12.6, "USD")
    assert (order["status"], order["updated_by"]) == ("Created", "customer")
    assert isinstance(order["id"], int)
    assert str(uuid.UUID(order["reference"])) == order["reference"]
    assert order["created_at"] == order["updated_at"]
    assert fakes.products.stock[tea] == 7
    assert list(fakes.products.reservations) == [order["reference"]]
    assert fakes.products.callers == ["service"]


async def test_a_list_body_is_a_cart_answered_with_message_ids_count_and_orders(
    orders: Orders, fakes: Fakes
) -> None:
    tea, cup = fakes.products.add("Tea", "2.50"), fakes.products.add("Cup", "7.00")

    # As the commerce seed's app sends its cart: its prices, totals and status are ignored.
    response = await orders.place(
        ALICE,
        [
            {
                "customer_id": ALICE,
                "product_id": tea,
                "quantity": 2,
                "per_cost": 0.01,
                "total_cost": 0.02,
                "status": "Pending",
            },
            {
                "customer_id": ALICE,
                "product_id": cup,
                "quantity": 1,
                "per_cost": 7,
                "total_cost": 7,
                "status": "Pending",
            },
        ],
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"message", "order_ids", "order_count", "orders", "checkout_id", "total"}
    placed = body["orders"]
    # One checkout: its lines share its id, and the answer gives what it costs in all.
    assert {o["checkout_id"] for o in placed} == {body["checkout_id"]}
    assert body["total"] == 12.0
    assert {(o["transaction_id"], o["decline_reason"]) for o in placed} == {(None, None)}
    assert body["message"] == "Orders placed successfully"
    assert body["order_ids"] == [o["id"] for o in placed]
    assert body["order_count"] == 2
    assert [(o["product_id"], o["total_cost"]) for o in placed] == [(tea, 5.0), (cup, 7.0)]
    assert {o["status"] for o in placed} == {"Created"}
    assert len({o["reference"] for o in placed}) == 2
    assert fakes.products.calls["reserve"] == 1  # all lines in one reservation call


async def test_an_items_body_is_answered_like_a_list(orders: Orders, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "2.50")

    response = await orders.place(ALICE, {"items": [{"product_id": tea, "quantity": 4}]})

    assert response.status_code == 201, response.text
    body = response.json()
    [order] = body["orders"]
    assert (body["order_ids"], body["order_count"]) == ([order["id"]], 1)
    assert (order["product_id"], order["quantity"], order["total_cost"]) == (tea, 4, 10.0)


async def test_prices_totals_and_customer_sent_by_the_client_are_ignored(
    orders: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "9.99")
    body = {
        "product_id": tea,
        "quantity": 2,
        "per_cost": 0.01,
        "total_cost": 0.02,
        "unit_price": 0.01,
        "customer_id": 999,
        "status": "Dispatched",
    }

    order = (await orders.place(ALICE, body)).json()

    assert (order["per_cost"], order["total_cost"]) == (9.99, 19.98)
    assert (order["customer_id"], order["status"]) == (ALICE, "Created")
    [row] = await orders.rows("SELECT per_cost, total_cost, customer_id FROM customer_order")
    assert (str(row.per_cost), str(row.total_cost), row.customer_id) == ("9.99", "19.98", ALICE)


async def test_each_order_is_announced_in_the_outbox(orders: Orders, fakes: Fakes) -> None:
    tea, cup = fakes.products.add("Tea", "2.50"), fakes.products.add("Cup", "0.10")

    placed = (
        await orders.place(
            ALICE, [{"product_id": tea, "quantity": 1}, {"product_id": cup, "quantity": 3}]
        )
    ).json()["orders"]

    events = await orders.events()
    assert [e["event_type"] for e in events] == ["order.created", "order.created"]
    for event, order in zip(events, placed, strict=True):
        assert (event["_topic"], event["_key"]) == ("order-events", str(order["id"]))
        assert event["producer"] == "orders"
        for name in ("id", "reference", "customer_id", "product_id", "quantity", "currency"):
            assert event[name] == order[name]
        assert (event["per_cost"], event["total_cost"]) == (order["per_cost"], order["total_cost"])
        assert event["status"] == "Created"
    assert events[1]["total_cost"] == 0.3


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda ok, _: {"product_id": ok, "quantity": 11}, id="one-line"),
        pytest.param(
            lambda ok, other: [
                {"product_id": other, "quantity": 1},
                {"product_id": ok, "quantity": 11},
            ],
            id="one-of-two-lines",
        ),
    ],
)
async def test_out_of_stock_is_409_and_creates_nothing(
    orders: Orders, fakes: Fakes, body: Any
) -> None:
    short, plenty = fakes.products.add("Rare", "1.00", stock=10), fakes.products.add("Tea", "1.00")

    response = await orders.place(ALICE, body(short, plenty))

    assert response.status_code == 409
    error = response.json()
    assert error["code"] == "out_of_stock"
    assert error["details"] == [{"product_id": short, "requested": 11, "available": 10}]
    assert await orders.counts() == EMPTY
    assert fakes.products.stock == {short: 10, plenty: 100}


async def test_unknown_product_is_404_and_creates_nothing(orders: Orders, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "1.00")

    response = await orders.place(
        ALICE, [{"product_id": tea, "quantity": 1}, {"product_id": 9, "quantity": 1}]
    )

    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    assert response.json()["details"] == {"product_ids": [9]}
    assert await orders.counts() == EMPTY


async def test_products_down_is_503_and_creates_nothing(sqlite_url: str, fakes: Fakes) -> None:
    urls = fakes.urls() | {"products": closed_port_url()}
    async with running(sqlite_url, urls) as orders:
        response = await orders.place(ALICE, {"product_id": 1, "quantity": 1})

        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert "request_id" in response.json()
        assert await orders.counts() == EMPTY


async def test_the_same_idempotency_key_returns_the_first_orders(
    orders: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00", stock=10)
    body = {"product_id": tea, "quantity": 2}

    first = await orders.place(ALICE, body, **{"Idempotency-Key": "k-1"})
    again = await orders.place(ALICE, body, **{"Idempotency-Key": "k-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (await orders.counts())["customer_order"] == 1
    assert fakes.products.calls["reserve"] == 1
    assert fakes.products.stock[tea] == 8


async def test_an_idempotency_key_reused_with_other_lines_is_refused(
    orders: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00")
    await orders.place(ALICE, {"product_id": tea, "quantity": 1}, **{"Idempotency-Key": "k-2"})

    response = await orders.place(
        ALICE, {"product_id": tea, "quantity": 5}, **{"Idempotency-Key": "k-2"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert (await orders.counts())["customer_order"] == 1
