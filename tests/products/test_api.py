"""The catalogue's CRUD: public reads, admin-only writes, soft delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from .support import ADMIN, PRODUCTS, SERVICE, USER, Products, make_product


def _assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["error"]


async def test_admin_creates_a_product_with_every_field(products: Products) -> None:
    body = make_product(
        name="  Trail shoe  ",
        price=89.9,
        currency="EUR",
        stock_quantity=7,
        model="TS-2",
        origin=" Portugal ",
        specifications={"size": "42", "colour": "red"},
        additional_info="Ships in 2 days",
        rating=4.5,
        rating_count=12,
    )
    response = await products.client.post(PRODUCTS, json=body, headers=products.headers(ADMIN))
    assert response.status_code == 201, response.text
    created = response.json()
    assert isinstance(created["id"], int)
    assert created["name"] == "Trail shoe"
    assert created["price"] == 89.9
    assert (created["currency"], created["stock_quantity"]) == ("EUR", 7)
    # Lines, as the commerce seed's app lists them (`*ngFor` over them).
    assert created["specifications"] == ["size: 42", "colour: red"]
    assert created["origin"] == "Portugal"
    assert (created["rating"], created["rating_count"]) == (4.5, 12)
    assert created["is_active"] is True
    assert created["created_at"] == created["updated_at"]
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None
    fetched = await products.client.get(f"{PRODUCTS}/{created['id']}")
    assert fetched.json() == created


async def test_defaults_of_a_minimal_product(products: Products) -> None:
    response = await products.client.post(
        PRODUCTS, json={"name": "Tea", "price": 3}, headers=products.headers()
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["price"] == 3
    assert body["currency"] == "USD"
    assert body["stock_quantity"] == 0
    assert body["description"] == body["additional_info"] == ""
    assert body["category"] is body["brand"] is body["model"] is body["sku"] is None
    assert body["origin"] is None
    assert body["images"] == body["tags"] == body["specifications"] == []
    assert (body["rating"], body["rating_count"], body["is_active"]) == (0, 0, True)


async def test_specifications_sent_back_as_lines_are_read_as_written(
    products: Products,
) -> None:
    created = await products.new(specifications={"Weight": "1.2 kg", "Plug": "EU: type F"})
    url = f"{PRODUCTS}/{created['id']}"
    assert created["specifications"] == ["Weight: 1.2 kg", "Plug: EU: type F"]

    # An edit form sends back the product it read, lines and all.
    edited = {k: v for k, v in created.items() if k not in READ_ONLY}
    edited["specifications"] = [*created["specifications"], "Boxed"]
    response = await products.client.put(url, json=edited, headers=products.headers(ADMIN))

    assert response.status_code == 200, response.text
    assert response.json()["specifications"] == ["Weight: 1.2 kg", "Plug: EU: type F", "Boxed"]


READ_ONLY = {"id", "created_at", "updated_at"}


async def test_product_is_public(products: Products) -> None:
    created = await products.new()
    response = await products.client.get(f"{PRODUCTS}/{created['id']}")
    assert response.status_code == 200
    assert response.json()["sku"] == created["sku"]


async def test_unknown_product_is_404(products: Products) -> None:
    _assert_error(await products.client.get(f"{PRODUCTS}/12345"), 404, "product_not_found")


async def test_put_replaces_every_field(products: Products) -> None:
    created = await products.new(brand="Old", tags=["a"], stock_quantity=3)
    body = {"name": "Renamed", "price": 12.5, "sku": created["sku"]}
    response = await products.client.put(
        f"{PRODUCTS}/{created['id']}", json=body, headers=products.headers()
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["name"], replaced["price"], replaced["sku"]) == (
        "Renamed",
        12.5,
        created["sku"],
    )
    # Omitted fields take their defaults in a full replace.
    assert (replaced["brand"], replaced["tags"], replaced["stock_quantity"]) == (None, [], 0)
    assert replaced["created_at"] == created["created_at"]
    assert replaced["updated_at"] > created["updated_at"]


async def test_patch_changes_only_the_given_fields(products: Products) -> None:
    created = await products.new(brand="Keyco", stock_quantity=4)
    response = await products.client.patch(
        f"{PRODUCTS}/{created['id']}",
        json={"price": 19.99, "brand": None, "tags": ["sale"]},
        headers=products.headers(),
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["price"], patched["brand"], patched["tags"]) == (19.99, None, ["sale"])
    unchanged = {
        k: v for k, v in patched.items() if k not in {"price", "brand", "tags", "updated_at"}
    }
    assert unchanged == {k: created[k] for k in unchanged}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_writes_to_an_unknown_product_are_404(products: Products, method: str) -> None:
    response = await products.client.request(
        method, f"{PRODUCTS}/999", json=make_product(), headers=products.headers()
    )
    _assert_error(response, 404, "product_not_found")
    assert (await products.counts())["product"] == 0


async def test_delete_is_a_soft_delete_hidden_from_the_public(products: Products) -> None:
    created = await products.new()
    path = f"{PRODUCTS}/{created['id']}"
    response = await products.client.delete(path, headers=products.headers())
    assert response.status_code == 204
    assert response.content == b""
    # Deleting twice is fine.
    assert (await products.client.delete(path, headers=products.headers())).status_code == 204
    _assert_error(await products.client.get(path), 404, "product_not_found")
    _assert_error(
        await products.client.get(path, headers=products.headers(USER)), 404, "product_not_found"
    )
    listed = await products.client.get(PRODUCTS, params={"ids": created["id"]})
    assert listed.json() == []
    # The row stays, so past orders still resolve it; admins and services still see it.
    for role in (ADMIN, SERVICE):
        seen = await products.client.get(path, headers=products.headers(role))
        assert seen.status_code == 200
        assert seen.json()["is_active"] is False


async def test_patch_brings_a_deleted_product_back(products: Products) -> None:
    created = await products.new()
    path = f"{PRODUCTS}/{created['id']}"
    await products.client.delete(path, headers=products.headers())
    response = await products.client.patch(
        path, json={"is_active": True}, headers=products.headers()
    )
    assert response.json()["is_active"] is True
    assert (await products.client.get(path)).status_code == 200


WRITES = [
    ("POST", PRODUCTS),
    ("PUT", f"{PRODUCTS}/1"),
    ("PATCH", f"{PRODUCTS}/1"),
    ("DELETE", f"{PRODUCTS}/1"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("role", [USER, SERVICE])
async def test_writes_by_non_admins_are_403(
    products: Products, method: str, path: str, role: str
) -> None:
    original = await products.new(name="Original")
    response = await products.client.request(
        method, path, json=make_product(name="Changed"), headers=products.headers(role)
    )
    _assert_error(response, 403, "forbidden")
    assert (await products.counts())["product"] == 1
    current = (await products.client.get(f"{PRODUCTS}/{original['id']}")).json()
    assert current == original


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "unauthorized"),
        ("Bearer not-a-jwt", "invalid_token"),
        ("Basic dXNlcjpwdw==", "unauthorized"),
    ],
)
async def test_anonymous_or_bad_token_writes_are_401(
    products: Products, method: str, path: str, authorization: str | None, code: str
) -> None:
    original = await products.new(name="Original")
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await products.client.request(
        method, path, json=make_product(name="Changed"), headers=headers
    )
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code
    assert (await products.counts())["product"] == 1
    assert (await products.client.get(f"{PRODUCTS}/{original['id']}")).json() == original


async def test_categories_are_distinct_in_any_case_sorted_and_only_of_active_products(
    products: Products,
) -> None:
    await products.new(category="Toys")
    await products.new(category="books")
    await products.new(category="Toys")
    await products.new(category="toys")
    await products.new(category=None)
    hidden = await products.new(category="Hidden")
    await products.client.delete(f"{PRODUCTS}/{hidden['id']}", headers=products.headers())
    response = await products.client.get(f"{PRODUCTS}/categories")
    assert response.status_code == 200
    assert response.json() == ["books", "Toys"]


async def test_openapi_documents_the_routes(products: Products) -> None:
    paths = (await products.client.get("/openapi.json")).json()["paths"]
    assert {
        PRODUCTS,
        f"{PRODUCTS}/categories",
        f"{PRODUCTS}/{{product_id}}",
        f"{PRODUCTS}/reservations",
        f"{PRODUCTS}/reservations/{{reservation_id}}/release",
    } <= set(paths)
