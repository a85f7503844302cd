"""Refused product writes: every bad body is a 4xx JSON error and leaves nothing behind."""

from __future__ import annotations

from typing import Any

import pytest

from .support import PRODUCTS, Products, make_product, running

NOTHING = {"product": 0, "stock_reservation": 0, "outbox_message": 0, "processed_event": 0}

BAD_FIELDS: list[dict[str, Any]] = [
    {"name": None},
    {"name": ""},
    {"name": "   "},
    {"name": "x" * 201},
    {"name": 123},
    {"name": ["a"]},
    {"description": "x" * 5001},
    {"description": None},
    {"price": None},
    {"price": 0},
    {"price": 0.0},
    {"price": -1},
    {"price": -0.01},
    {"price": 1.234},
    {"price": 0.001},
    {"price": 10_000_000_000},
    {"price": 1e300},
    {"price": "9.99"},
    {"price": "abc"},
    {"price": True},
    {"price": [5]},
    {"price": {"amount": 5}},
    {"currency": "usd"},
    {"currency": "US"},
    {"currency": "USDX"},
    {"currency": "U$D"},
    {"currency": 840},
    {"currency": None},
    {"stock_quantity": -1},
    {"stock_quantity": 1.5},
    {"stock_quantity": "5"},
    {"stock_quantity": True},
    {"stock_quantity": None},
    {"stock_quantity": 10**12},
    {"category": "c" * 101},
    {"category": 5},
    {"brand": "b" * 101},
    {"model": "m" * 101},
    {"sku": ""},
    {"sku": "a b"},
    {"sku": "sku/1"},
    {"sku": "ä-1"},
    {"sku": "s" * 65},
    {"sku": 42},
    {"images": "https://img.example.com/a.jpg"},
    {"images": ["ftp://img.example.com/a.jpg"]},
    {"images": ["not a url"]},
    {"images": [f"https://img.example.com/{n}.jpg" for n in range(11)]},
    {"images": [None]},
    {"images": None},
    {"tags": "a,b"},
    {"tags": ["t" * 51]},
    {"tags": [" "]},
    {"tags": [f"t{n}" for n in range(21)]},
    {"tags": [1]},
    {"specifications": ["a", 1]},
    {"specifications": "size: 42"},
    {"origin": "x" * 101},
    {"origin": ["Portugal"]},
    {"specifications": {"": "x"}},
    {"specifications": {"k": 1}},
    {"specifications": {"k": "v" * 501}},
    {"rating": 5.5},
    {"rating": -1},
    {"rating": 4.25},
    {"rating": "4"},
    {"rating_count": -1},
    {"rating_count": 2.5},
    {"is_active": "yes"},
    {"is_active": 1},
    {"is_active": None},
    {"unknown_field": 1},
    {"stock": 5},
]


def _assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("fields", BAD_FIELDS, ids=repr)
async def test_bad_create_is_422_and_writes_nothing(
    shared_products: Products, fields: dict[str, Any]
) -> None:
    products = shared_products
    before = await products.counts()
    response = await products.client.post(
        PRODUCTS, json=make_product(**fields), headers=products.headers()
    )
    _assert_refused(response, 422, "validation_error")
    assert response.json()["details"]
    assert await products.counts() == before


@pytest.mark.parametrize("missing", ["name", "price"])
async def test_name_and_price_are_required(products: Products, missing: str) -> None:
    body = make_product()
    del body[missing]
    response = await products.client.post(PRODUCTS, json=body, headers=products.headers())
    _assert_refused(response, 422, "validation_error")
    assert response.json()["details"][0]["loc"] == ["body", missing]
    assert await products.counts() == NOTHING


@pytest.mark.parametrize("fields", BAD_FIELDS, ids=repr)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_bad_update_is_422_and_changes_nothing(
    shared_products: Products, fields: dict[str, Any], method: str
) -> None:
    products = shared_products
    original = await products.new()
    before = await products.counts()
    body = make_product(**fields) if method == "PUT" else fields
    response = await products.client.request(
        method, f"{PRODUCTS}/{original['id']}", json=body, headers=products.headers()
    )
    _assert_refused(response, 422, "validation_error")
    assert (await products.client.get(f"{PRODUCTS}/{original['id']}")).json() == original
    assert await products.counts() == before


@pytest.mark.parametrize(
    "body",
    [[], [make_product()], "product", 5, None],
    ids=["list", "list-of-one", "str", "int", "null"],
)
async def test_body_that_is_not_an_object_is_422(products: Products, body: Any) -> None:
    response = await products.client.post(PRODUCTS, json=body, headers=products.headers())
    _assert_refused(response, 422, "validation_error")
    assert await products.counts() == NOTHING


@pytest.mark.parametrize(
    "raw", [b'{"name": "x", "price": 5', b"name=x", b'{"name": "x",}', b"\xff\xfe"]
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_invalid_json_is_400_and_writes_nothing(
    products: Products, raw: bytes, method: str
) -> None:
    original = await products.new()
    path = PRODUCTS if method == "POST" else f"{PRODUCTS}/{original['id']}"
    headers = products.headers(**{"Content-Type": "application/json"})
    response = await products.client.request(method, path, content=raw, headers=headers)
    _assert_refused(response, 400, "invalid_json")
    assert (await products.counts())["product"] == 1
    assert (await products.client.get(f"{PRODUCTS}/{original['id']}")).json() == original


@pytest.mark.parametrize(
    "raw", [b'{"name": "x", "price": NaN}', b'{"name": "x", "price": Infinity}']
)
async def test_non_finite_prices_are_422(products: Products, raw: bytes) -> None:
    headers = products.headers(**{"Content-Type": "application/json"})
    response = await products.client.post(PRODUCTS, content=raw, headers=headers)
    _assert_refused(response, 422, "validation_error")
    assert await products.counts() == NOTHING


async def test_oversized_body_is_413(products: Products) -> None:
    body = make_product(description="x" * (2 * 1024 * 1024))
    response = await products.client.post(PRODUCTS, json=body, headers=products.headers())
    _assert_refused(response, 413, "payload_too_large")
    assert await products.counts() == NOTHING


async def test_duplicate_sku_is_409_and_writes_nothing(products: Products) -> None:
    first = await products.new()
    response = await products.create(sku=first["sku"], name="Copy")
    _assert_refused(response, 409, "sku_taken")
    assert (await products.counts())["product"] == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_taking_another_products_sku_is_409(products: Products, method: str) -> None:
    first = await products.new()
    second = await products.new()
    body = make_product(sku=first["sku"]) if method == "PUT" else {"sku": first["sku"]}
    response = await products.client.request(
        method, f"{PRODUCTS}/{second['id']}", json=body, headers=products.headers()
    )
    _assert_refused(response, 409, "sku_taken")
    assert (await products.client.get(f"{PRODUCTS}/{second['id']}")).json() == second


async def test_keeping_ones_own_sku_and_products_without_sku_are_fine(products: Products) -> None:
    first = await products.new()
    same = await products.client.put(
        f"{PRODUCTS}/{first['id']}", json=make_product(sku=first["sku"]), headers=products.headers()
    )
    assert same.status_code == 200
    for _ in range(2):
        assert (await products.create(sku=None)).status_code == 201


@pytest.mark.parametrize("path_id", ["abc", "0", "-1", "1.5", str(2**63)])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_bad_product_id_in_path_is_422(products: Products, path_id: str, method: str) -> None:
    response = await products.client.request(
        method, f"{PRODUCTS}/{path_id}", json=make_product(), headers=products.headers()
    )
    _assert_refused(response, 422, "validation_error")
    assert await products.counts() == NOTHING


async def test_a_blank_optional_text_means_none(products: Products) -> None:
    created = await products.new(category="  ", brand="", model=" X1 ")
    assert (created["category"], created["brand"], created["model"]) == (None, None, "X1")


async def test_unknown_route_and_wrong_method_are_json(products: Products) -> None:
    _assert_refused(await products.client.get("/api/products/1/nope"), 404, "not_found")
    _assert_refused(
        await products.client.post(f"{PRODUCTS}/1", headers=products.headers()),
        405,
        "method_not_allowed",
    )


HOSTILE_TEXT: list[dict[str, Any]] = [
    {"name": "a\x00b"},
    {"description": "\x00"},
    {"category": "c\x00"},
    {"brand": "b\x00"},
    {"model": "m\x00"},
    {"additional_info": "\x00"},
    {"tags": ["t\x00"]},
    {"specifications": {"k\x00": "v"}},
    {"specifications": {"k": "v\x00"}},
    {"images": ["https://img.example.com/a\x00.jpg"]},
]


@pytest.mark.parametrize("fields", HOSTILE_TEXT, ids=repr)
async def test_text_a_database_cannot_store_is_422_on_both_databases(
    database_url: str, fields: dict[str, Any]
) -> None:
    async with running(database_url) as products:
        response = await products.create(**fields)
        _assert_refused(response, 422, "validation_error")
        assert await products.counts() == NOTHING


async def test_lone_surrogates_and_nul_in_queries_are_refused_on_both_databases(
    database_url: str,
) -> None:
    async with running(database_url) as products:
        headers = products.headers(**{"Content-Type": "application/json"})
        for raw in (
            b'{"name": "\\ud800", "price": 1}',
            b'{"name": "x", "price": 1, "tags": ["\\udfff"]}',
        ):
            response = await products.client.post(PRODUCTS, content=raw, headers=headers)
            _assert_refused(response, 422, "validation_error")
        for params in ({"q": "a\x00"}, {"category": "\x00"}):
            response = await products.client.get(PRODUCTS, params=params)
            _assert_refused(response, 422, "validation_error")
        assert await products.counts() == NOTHING
