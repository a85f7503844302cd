"""Stock reservations (the internal API orders calls): all or nothing, idempotent, released once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .support import (
    ADMIN,
    PRODUCTS,
    RESERVATIONS,
    SERVICE,
    USER,
    Products,
    line,
    new_reservation_id,
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _named(value: Any) -> str:
    """A parameter's test id without its random reservation ids: the same in every process
    (pytest-xdist's workers must collect the same tests)."""
    return _UUID.sub("<id>", repr(value))


def _assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["error"]


async def test_reservation_takes_stock_and_answers_prices(products: Products) -> None:
    kettle = await products.new(name="Kettle", price=24.5, currency="EUR", stock_quantity=5)
    mug = await products.new(name="Mug", price=3, stock_quantity=10)
    lines = [line(kettle["id"], 2), line(mug["id"], 4)]
    response = await products.reserve(*lines)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "lines": [
            {**lines[0], "unit_price": 24.5, "currency": "EUR", "name": "Kettle"},
            {**lines[1], "unit_price": 3, "currency": "USD", "name": "Mug"},
        ]
    }
    assert await products.stock(kettle["id"]) == 3
    assert await products.stock(mug["id"]) == 6
    rows = await products.rows(
        "SELECT reservation_id, product_id, quantity, status, released_at FROM stock_reservation"
        " ORDER BY product_id"
    )
    assert [tuple(r) for r in rows] == [
        (lines[0]["reservation_id"], kettle["id"], 2, "reserved", None),
        (lines[1]["reservation_id"], mug["id"], 4, "reserved", None),
    ]


async def test_the_last_unit_can_be_reserved(products: Products) -> None:
    product = await products.new(stock_quantity=3)
    assert (await products.reserve(line(product["id"], 3))).status_code == 200
    assert await products.stock(product["id"]) == 0


async def test_out_of_stock_refuses_every_line_and_reserves_nothing(products: Products) -> None:
    plenty = await products.new(stock_quantity=50)
    short = await products.new(stock_quantity=2)
    empty = await products.new(stock_quantity=0)
    lines = [line(plenty["id"], 5), line(short["id"], 3), line(empty["id"], 1)]
    response = await products.reserve(*lines)
    _assert_refused(response, 409, "out_of_stock")
    assert response.json()["details"] == [
        {"product_id": short["id"], "requested": 3, "available": 2},
        {"product_id": empty["id"], "requested": 1, "available": 0},
    ]
    assert [await products.stock(p["id"]) for p in (plenty, short, empty)] == [50, 2, 0]
    assert (await products.counts())["stock_reservation"] == 0
    # Nothing was used up: the same ids work once the request fits.
    retry = await products.reserve(lines[0], {**lines[1], "quantity": 2})
    assert retry.status_code == 200


async def test_lines_of_one_product_count_together(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    response = await products.reserve(line(product["id"], 3), line(product["id"], 3))
    _assert_refused(response, 409, "out_of_stock")
    assert response.json()["details"] == [
        {"product_id": product["id"], "requested": 6, "available": 5}
    ]
    assert await products.stock(product["id"]) == 5
    assert (
        await products.reserve(line(product["id"], 2), line(product["id"], 3))
    ).status_code == 200
    assert await products.stock(product["id"]) == 0


async def test_unknown_or_inactive_product_is_404_and_reserves_nothing(products: Products) -> None:
    known = await products.new(stock_quantity=5)
    inactive = await products.new(stock_quantity=5)
    await products.client.delete(f"{PRODUCTS}/{inactive['id']}", headers=products.headers())
    response = await products.reserve(
        line(known["id"]), line(98765), line(inactive["id"]), line(98765)
    )
    _assert_refused(response, 404, "product_not_found")
    assert response.json()["details"] == {"product_ids": sorted([inactive["id"], 98765])}
    assert await products.stock(known["id"]) == 5
    assert await products.stock(inactive["id"]) == 5
    assert (await products.counts())["stock_reservation"] == 0


async def test_repeating_a_reservation_answers_the_same_and_takes_stock_once(
    products: Products,
) -> None:
    product = await products.new(price=10, stock_quantity=5)
    lines = [line(product["id"], 2)]
    first = await products.reserve(*lines)
    # A price change later does not change the first answer.
    await products.client.patch(
        f"{PRODUCTS}/{product['id']}", json={"price": 99}, headers=products.headers()
    )
    repeat = await products.reserve(*lines)
    assert first.status_code == repeat.status_code == 200
    assert repeat.json() == first.json()
    assert repeat.json()["lines"][0]["unit_price"] == 10
    assert await products.stock(product["id"]) == 3
    assert (await products.counts())["stock_reservation"] == 1


async def test_a_repeat_after_the_product_was_deactivated_answers_as_the_first_time(
    products: Products,
) -> None:
    product = await products.new(price=10, stock_quantity=5)
    reserved = line(product["id"], 2)
    first = await products.reserve(reserved)
    await products.client.delete(f"{PRODUCTS}/{product['id']}", headers=products.headers())

    repeat = await products.reserve(reserved)

    assert (repeat.status_code, repeat.json()) == (200, first.json())
    assert await products.stock(product["id"]) == 3
    # A new reservation of it is refused, the repeat alongside it or not.
    refused = await products.reserve(line(product["id"], 1), reserved)
    _assert_refused(refused, 404, "product_not_found")
    assert await products.stock(product["id"]) == 3


async def test_a_repeat_of_a_released_reservation_answers_the_same_and_takes_nothing(
    products: Products,
) -> None:
    product = await products.new(price=10, stock_quantity=5)
    reserved = line(product["id"], 2)
    first = await products.reserve(reserved)
    await products.release(reserved["reservation_id"])

    repeat = await products.reserve(reserved)

    assert (repeat.status_code, repeat.json()) == (200, first.json())
    assert await products.stock(product["id"]) == 5


async def test_a_repeat_with_new_lines_reserves_only_the_new_ones(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    old = line(product["id"], 2)
    await products.reserve(old)
    new = line(product["id"], 3)
    response = await products.reserve(new, old)
    assert response.status_code == 200
    assert [entry["reservation_id"] for entry in response.json()["lines"]] == [
        new["reservation_id"],
        old["reservation_id"],
    ]
    assert await products.stock(product["id"]) == 0


async def test_a_reservation_id_reused_for_something_else_is_refused(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    other = await products.new(stock_quantity=5)
    first = line(product["id"], 1)
    await products.reserve(first)
    for changed in ({"quantity": 2}, {"product_id": other["id"]}):
        response = await products.reserve({**first, **changed})
        _assert_refused(response, 422, "reservation_id_reused")
    assert await products.stock(product["id"]) == 4
    assert await products.stock(other["id"]) == 5


async def test_release_gives_stock_back_once(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    reserved = line(product["id"], 4)
    await products.reserve(reserved)
    assert await products.stock(product["id"]) == 1
    first = await products.release(reserved["reservation_id"])
    assert (first.status_code, first.json()) == (200, {"released": True})
    assert await products.stock(product["id"]) == 5
    again = await products.release(reserved["reservation_id"])
    assert (again.status_code, again.json()) == (200, {"released": False})
    assert await products.stock(product["id"]) == 5
    [(status, released_at)] = await products.rows(
        "SELECT status, released_at FROM stock_reservation"
    )
    assert status == "released"
    assert released_at is not None


async def test_releasing_an_unknown_reservation_is_false(products: Products) -> None:
    response = await products.release(new_reservation_id())
    assert (response.status_code, response.json()) == (200, {"released": False})


async def test_release_of_an_inactive_products_reservation_still_returns_stock(
    products: Products,
) -> None:
    product = await products.new(stock_quantity=2)
    reserved = line(product["id"], 2)
    await products.reserve(reserved)
    await products.client.delete(f"{PRODUCTS}/{product['id']}", headers=products.headers())
    assert (await products.release(reserved["reservation_id"])).json() == {"released": True}
    assert await products.stock(product["id"]) == 2


async def test_admins_may_call_the_internal_api(products: Products) -> None:
    product = await products.new(stock_quantity=1)
    reserved = line(product["id"])
    assert (await products.reserve(reserved, role=ADMIN)).status_code == 200
    assert (await products.release(reserved["reservation_id"], role=ADMIN)).json()["released"]


async def test_users_are_refused_the_internal_api(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    reserved = line(product["id"])
    _assert_refused(await products.reserve(reserved, role=USER), 403, "forbidden")
    assert await products.stock(product["id"]) == 5
    assert (await products.counts())["stock_reservation"] == 0
    await products.reserve(reserved)
    _assert_refused(await products.release(reserved["reservation_id"], role=USER), 403, "forbidden")
    assert await products.stock(product["id"]) == 4


@pytest.mark.parametrize(
    "path", [RESERVATIONS, f"{RESERVATIONS}/{new_reservation_id()}/release"], ids=_named
)
@pytest.mark.parametrize("authorization", [None, "Bearer nope"])
async def test_anonymous_calls_to_the_internal_api_are_401(
    products: Products, path: str, authorization: str | None
) -> None:
    product = await products.new(stock_quantity=5)
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await products.client.post(
        path, json={"lines": [line(product["id"])]}, headers=headers
    )
    assert response.status_code == 401
    assert await products.stock(product["id"]) == 5


BAD_BODIES: list[Any] = [
    {},
    {"lines": []},
    {"lines": None},
    {"lines": "x"},
    {"lines": [{}]},
    {"lines": [line(1, reservation_id="not-a-uuid")]},
    {"lines": [{**line(1), "reservation_id": ""}]},
    {"lines": [{**line(1), "reservation_id": 5}]},
    {"lines": [line(1, quantity=0)]},
    {"lines": [line(1, quantity=-1)]},
    {"lines": [line(1, quantity=1001)]},
    {"lines": [{**line(1), "quantity": 1.5}]},
    {"lines": [{**line(1), "quantity": "2"}]},
    {"lines": [{**line(1), "quantity": True}]},
    {"lines": [{**line(1), "product_id": "1"}]},
    {"lines": [{**line(1), "product_id": 0}]},
    {"lines": [{**line(1), "product_id": 2**63}]},
    {"lines": [{**line(1), "extra": 1}]},
    {"lines": [line(1)] * 2},
    {"lines": [line(1) for _ in range(101)]},
    [line(1)],
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=_named)
async def test_bad_reservation_body_is_422_and_reserves_nothing(
    shared_products: Products, body: Any
) -> None:
    products = shared_products
    if not await products.rows("SELECT id FROM product WHERE id = 1"):
        await products.new(stock_quantity=5)
    response = await products.client.post(
        RESERVATIONS, json=body, headers=products.headers(SERVICE)
    )
    _assert_refused(response, 422, "validation_error")
    assert await products.stock(1) == 5
    assert (await products.counts())["stock_reservation"] == 0


async def test_invalid_json_reservation_is_400(products: Products) -> None:
    headers = products.headers(SERVICE, **{"Content-Type": "application/json"})
    response = await products.client.post(RESERVATIONS, content=b'{"lines": [', headers=headers)
    _assert_refused(response, 400, "invalid_json")


@pytest.mark.parametrize("reservation_id", ["abc", "1", "x" * 40])
async def test_release_of_a_malformed_id_is_422(products: Products, reservation_id: str) -> None:
    response = await products.release(reservation_id)
    _assert_refused(response, 422, "validation_error")


async def test_reservation_ids_are_read_in_canonical_form(products: Products) -> None:
    product = await products.new(stock_quantity=5)
    reservation_id = new_reservation_id()
    upper = line(product["id"], 1, reservation_id=reservation_id.upper())
    response = await products.reserve(upper)
    assert response.json()["lines"][0]["reservation_id"] == reservation_id
    assert (await products.release(reservation_id.upper())).json() == {"released": True}
    assert await products.stock(product["id"]) == 5
