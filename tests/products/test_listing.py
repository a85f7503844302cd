"""The public listing: paging with a total, category, text search, sorting, ids, inactive ones."""

from __future__ import annotations

from typing import Any

import pytest

from .support import ADMIN, PRODUCTS, SERVICE, USER, Products


async def _list(products: Products, role: str | None = None, **params: Any) -> Any:
    response = await products.client.get(PRODUCTS, params=params, headers=products.headers(role))
    assert response.status_code == 200, response.text
    return response


def _names(response: Any) -> list[str]:
    return [p["name"] for p in response.json()]


async def test_pages_with_limit_offset_and_total_header(products: Products) -> None:
    for n in range(25):
        await products.new(name=f"p{n:02d}")
    first = await _list(products)
    assert len(first.json()) == 20
    assert first.headers["X-Total-Count"] == "25"
    page = await _list(products, limit=10, offset=20)
    assert _names(page) == ["p20", "p21", "p22", "p23", "p24"]
    assert page.headers["X-Total-Count"] == "25"
    past_the_end = await _list(products, offset=100)
    assert past_the_end.json() == []
    assert past_the_end.headers["X-Total-Count"] == "25"


async def test_empty_catalogue_is_an_empty_array(products: Products) -> None:
    response = await _list(products)
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "0"


async def test_category_filter_is_exact_in_any_case(products: Products) -> None:
    await products.new(name="a", category="Books")
    await products.new(name="b", category="books")
    await products.new(name="c", category="Bookshelves")
    await products.new(name="d", category=None)
    response = await _list(products, category="BOOKS")
    assert _names(response) == ["a", "b"]
    assert response.headers["X-Total-Count"] == "2"


async def test_text_search_in_name_description_and_brand_in_any_case(products: Products) -> None:
    await products.new(name="Blue KETTLE", description="", brand=None)
    await products.new(name="Mug", description="goes with a kettle", brand=None)
    await products.new(name="Toaster", description="", brand="KettleCo")
    await products.new(name="Plate", description="", brand="Other")
    response = await _list(products, q="kettle")
    assert _names(response) == ["Blue KETTLE", "Mug", "Toaster"]
    assert response.headers["X-Total-Count"] == "3"


async def test_search_treats_like_wildcards_literally(products: Products) -> None:
    await products.new(name="100% cotton", description="")
    await products.new(name="1000 cottons", description="")
    await products.new(name="a_b", description="")
    await products.new(name="axb", description="")
    assert _names(await _list(products, q="0%")) == ["100% cotton"]
    assert _names(await _list(products, q="a_b")) == ["a_b"]


async def test_filters_combine_with_paging(products: Products) -> None:
    for n in range(5):
        await products.new(name=f"lamp {n}", category="Lights")
    await products.new(name="lamp shade", category="Decor")
    response = await _list(products, category="lights", q="LAMP", limit=2, offset=1, sort="-name")
    assert _names(response) == ["lamp 3", "lamp 2"]
    assert response.headers["X-Total-Count"] == "5"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["apple", "Banana", "cherry"]),
        ("-name", ["cherry", "Banana", "apple"]),
        ("price", ["Banana", "cherry", "apple"]),
        ("-price", ["apple", "cherry", "Banana"]),
        ("created_at", ["cherry", "apple", "Banana"]),
        ("-created_at", ["Banana", "apple", "cherry"]),
        ("rating", ["apple", "Banana", "cherry"]),
        ("-rating", ["cherry", "Banana", "apple"]),
    ],
)
async def test_sorts(products: Products, sort: str, expected: list[str]) -> None:
    await products.new(name="cherry", price=5, rating=4.9)
    await products.new(name="apple", price=10, rating=1)
    await products.new(name="Banana", price=2.5, rating=3.5)
    assert _names(await _list(products, sort=sort)) == expected


async def test_ties_keep_a_stable_order(products: Products) -> None:
    ids = [(await products.new(name=f"same{n}", price=1))["id"] for n in range(4)]
    assert [p["id"] for p in (await _list(products, sort="price")).json()] == ids
    assert [p["id"] for p in (await _list(products, sort="-price")).json()] == ids[::-1]


async def test_ids_returns_exactly_those_in_the_order_asked(products: Products) -> None:
    ids = [(await products.new(name=f"p{n}"))["id"] for n in range(30)]
    wanted = [ids[27], ids[3], ids[15], ids[3]]
    response = await _list(products, ids=",".join(str(i) for i in wanted))
    assert [p["id"] for p in response.json()] == [ids[27], ids[3], ids[15]]
    assert response.headers["X-Total-Count"] == "3"
    # More than a page's worth: no paging with ids.
    many = await _list(products, ids=",".join(str(i) for i in ids[:25]))
    assert [p["id"] for p in many.json()] == ids[:25]
    repeated_param = await products.client.get(f"{PRODUCTS}?ids={ids[1]}&ids={ids[0]}")
    assert [p["id"] for p in repeated_param.json()] == [ids[1], ids[0]]


async def test_ids_leaves_out_unknown_ids_and_honours_sort(products: Products) -> None:
    a = await products.new(name="a", price=3)
    b = await products.new(name="b", price=1)
    response = await _list(products, ids=f"{a['id']},999,{b['id']}", sort="price")
    assert _names(response) == ["b", "a"]


async def test_inactive_products_are_hidden_unless_an_admin_asks(products: Products) -> None:
    await products.new(name="on")
    off = await products.new(name="off")
    await products.client.delete(f"{PRODUCTS}/{off['id']}", headers=products.headers())
    assert _names(await _list(products)) == ["on"]
    assert _names(await _list(products, ADMIN)) == ["on"]
    everything = await _list(products, ADMIN, include_inactive="true")
    assert _names(everything) == ["on", "off"]
    assert everything.headers["X-Total-Count"] == "2"
    via_service = await _list(products, SERVICE, include_inactive="true", ids=off["id"])
    assert _names(via_service) == ["off"]


async def test_include_inactive_needs_an_admin(products: Products) -> None:
    anonymous = await products.client.get(PRODUCTS, params={"include_inactive": "true"})
    assert anonymous.status_code == 401
    user = await products.client.get(
        PRODUCTS, params={"include_inactive": "true"}, headers=products.headers(USER)
    )
    assert user.status_code == 403
    assert user.json()["code"] == "forbidden"


async def test_a_bad_token_on_a_public_read_counts_as_anonymous(products: Products) -> None:
    await products.new(name="visible")
    response = await products.client.get(PRODUCTS, headers={"Authorization": "Bearer expired.x.y"})
    assert response.status_code == 200
    assert _names(response) == ["visible"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"offset": -1},
        {"sort": "stock"},
        {"sort": "NAME"},
        {"ids": "1,abc"},
        {"ids": ""},
        {"ids": "1,,2"},
        {"ids": "0"},
        {"ids": "-3"},
        {"ids": "1.5"},
        {"ids": str(2**63)},
        {"ids": ",".join(str(n) for n in range(1, 102))},
        {"q": "x" * 201},
        {"category": "c" * 101},
        {"include_inactive": "maybe"},
    ],
)
async def test_bad_query_is_422(shared_products: Products, params: dict[str, Any]) -> None:
    response = await shared_products.client.get(PRODUCTS, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert response.json()["details"]


async def test_a_hundred_ids_are_allowed(products: Products) -> None:
    response = await products.client.get(
        PRODUCTS, params={"ids": ",".join(str(n) for n in range(1, 101))}
    )
    assert response.status_code == 200
    assert response.json() == []
