"""Reading orders: the caller's own only, newest first, decorated from one call per service."""

from __future__ import annotations

import asyncio

from .fakes import silent_server
from .support import ALICE, BOB, Fakes, Orders, auth, running


async def test_list_is_the_callers_orders_newest_first_with_product_and_customer(
    orders: Orders, fakes: Fakes
) -> None:
    tea, cup = fakes.products.add("Tea", "1.00"), fakes.products.add("Cup", "3.00")
    profile = fakes.customers.add(ALICE, "alice")
    first = await orders.place_one(ALICE, tea)
    second = await orders.place_one(ALICE, cup, 2)
    third = await orders.place_one(ALICE, tea, 5)
    await orders.place_one(BOB, cup)
    fakes.products.calls.clear()

    response = await orders.list(ALICE)

    assert response.status_code == 200
    listed = response.json()
    assert [o["id"] for o in listed] == [third["id"], second["id"], first["id"]]
    assert [o["product"] for o in listed] == [
        fakes.products.products[tea],
        fakes.products.products[cup],
        fakes.products.products[tea],
    ]
    assert all(o["customer"] == profile for o in listed)
    assert {k: v for k, v in listed[1].items() if k not in ("product", "customer")} == second
    # One call to each service for the whole list, never one per order.
    assert fakes.products.calls == {"list": 1}
    assert fakes.customers.calls == {"me": 1}


async def test_customers_is_asked_with_the_callers_own_token(orders: Orders, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "1.00")
    await orders.place_one(ALICE, tea)
    headers = auth(ALICE)

    await orders.client.get("/api/orders", headers=headers)

    assert fakes.customers.authorizations == [headers["Authorization"]]


async def test_without_a_profile_the_customer_is_null(orders: Orders, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "1.00")
    await orders.place_one(ALICE, tea)

    [order] = (await orders.list(ALICE)).json()

    assert order["customer"] is None
    assert order["product"]["name"] == "Tea"


async def test_a_product_deactivated_since_still_shows_on_its_order(
    orders: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00")
    placed = await orders.place_one(ALICE, tea)
    fakes.products.products[tea]["active"] = False

    [order] = (await orders.list(ALICE)).json()

    assert (order["id"], order["product"]["id"], order["product"]["active"]) == (
        placed["id"],
        tea,
        False,
    )


async def test_a_slow_service_does_not_hold_the_list_up(sqlite_url: str, fakes: Fakes) -> None:
    tea = fakes.products.add("Tea", "1.00")
    async with (
        silent_server() as hanging,
        running(sqlite_url, fakes.urls() | {"customers": hanging}, lookup_timeout=0.2) as orders,
    ):
        await orders.place_one(ALICE, tea)

        # Well before the client's own call timeout (3 s) gives up on customers.
        async with asyncio.timeout(2):
            [order] = (await orders.list(ALICE)).json()

        assert order["customer"] is None
        assert order["product"]["name"] == "Tea"


async def test_get_returns_the_callers_order_with_product_and_customer(
    orders: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00")
    fakes.customers.add(ALICE, "alice")
    placed = await orders.place_one(ALICE, tea, 2)

    response = await orders.get(ALICE, placed["id"])

    assert response.status_code == 200
    order = response.json()
    assert {k: v for k, v in order.items() if k not in ("product", "customer")} == placed
    assert order["product"]["id"] == tea
    assert order["customer"]["user_id"] == ALICE


async def test_an_unknown_order_is_not_found(orders: Orders) -> None:
    response = await orders.get(ALICE, 424242)

    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
