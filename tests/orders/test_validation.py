"""Bad input anywhere: a 4xx in the platform's error shape, nothing written, products not asked
(this app's products and customers are not there: asking them would answer 503, not 4xx)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from .fakes import closed_port_url
from .support import ALICE, Orders, auth, running


@pytest.fixture(scope="module")
async def orders(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Orders]:
    """One app for the module's refusals: each test checks that nothing was written."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('orders') / 'orders.db'}"
    away = {"products": closed_port_url(), "customers": closed_port_url()}
    async with running(url, away) as service:
        yield service


EMPTY = {"customer_order": 0, "outbox_message": 0, "idempotency_record": 0}
LINE = {"product_id": 1, "quantity": 1}
HUGE = 2**63


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "product_id"),
        ({"quantity": 1}, "product_id"),
        ({"product_id": 1}, "quantity"),
        ({"product_id": 0, "quantity": 1}, "product_id"),
        ({"product_id": -3, "quantity": 1}, "product_id"),
        ({"product_id": HUGE, "quantity": 1}, "product_id"),
        ({"product_id": True, "quantity": 1}, "product_id"),
        ({"product_id": "1", "quantity": 1}, "product_id"),
        ({"product_id": 1.5, "quantity": 1}, "product_id"),
        ({"product_id": None, "quantity": 1}, "product_id"),
        ({"product_id": 1, "quantity": 0}, "quantity"),
        ({"product_id": 1, "quantity": -1}, "quantity"),
        ({"product_id": 1, "quantity": 1001}, "quantity"),
        ({"product_id": 1, "quantity": "2"}, "quantity"),
        ({"product_id": 1, "quantity": 2.0}, "quantity"),
        ({"product_id": 1, "quantity": False}, "quantity"),
        ({"product_id": 1, "quantity": [1]}, "quantity"),
        ([], "body"),
        ([LINE] * 51, "body"),
        ([LINE, {"product_id": 1, "quantity": 0}], "1.quantity"),
        ([LINE, "tea"], "1"),
        ({"items": []}, "items"),
        ({"items": "tea"}, "items"),
        ({"items": [LINE] * 51}, "items"),
        ({"items": [{"product_id": 2}]}, "items.0.quantity"),
        ("tea", "body"),
        (12, "body"),
        (None, "body"),
    ],
)
async def test_bad_order_bodies_are_refused_and_write_nothing(
    orders: Orders, body: Any, where: str
) -> None:
    response = await orders.place(ALICE, body)

    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_error"
    assert where in ".".join(error["details"][0]["loc"])
    assert isinstance(error["error"], str)
    assert error["request_id"]
    assert await orders.counts() == EMPTY


async def test_a_body_that_is_not_json_is_400(orders: Orders) -> None:
    headers = auth(ALICE, **{"Content-Type": "application/json"})

    response = await orders.client.post(
        "/api/orders", content=b'{"product_id": 1,', headers=headers
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert await orders.counts() == EMPTY


async def test_a_form_body_is_refused(orders: Orders) -> None:
    response = await orders.client.post(
        "/api/orders", data={"product_id": "1", "quantity": "1"}, headers=auth(ALICE)
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_an_empty_idempotency_key_is_refused(orders: Orders) -> None:
    response = await orders.place(ALICE, LINE, **{"Idempotency-Key": ""})

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/orders/abc"),
        ("GET", "/api/orders/0"),
        ("GET", f"/api/orders/{HUGE}"),
        ("GET", "/api/orders/1.5"),
        ("POST", "/api/orders/abc/cancel"),
        ("POST", f"/api/orders/{HUGE}/cancel"),
        ("POST", "/api/orders/-1/cancel"),
        ("GET", "/api/orders?limit=0"),
        ("GET", "/api/orders?limit=101"),
        ("GET", "/api/orders?limit=ten"),
        ("GET", "/api/orders?offset=-1"),
        ("GET", f"/api/orders?offset={HUGE}"),
        ("GET", "/api/orders?status=Lost"),
        ("GET", "/api/orders?status=created"),
    ],
)
async def test_bad_paths_and_queries_are_422(orders: Orders, method: str, path: str) -> None:
    response = await orders.client.request(method, path, headers=auth(ALICE))

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert await orders.counts() == EMPTY


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/orders"),
        ("GET", "/api/orders"),
        ("GET", "/api/orders/1"),
        ("POST", "/api/orders/1/cancel"),
        ("GET", "/api/orders/stream"),
    ],
)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "unauthorized"),
        ("Bearer nonsense", "invalid_token"),
        ("Basic dXNlcjpwYXNz", "unauthorized"),
    ],
)
async def test_every_route_needs_a_valid_token(
    orders: Orders, method: str, path: str, authorization: str | None, code: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await orders.client.request(method, path, json=LINE, headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert await orders.counts() == EMPTY


async def test_unknown_routes_and_methods_answer_json(orders: Orders) -> None:
    missing = await orders.client.get("/api/orders/1/nothing", headers=auth(ALICE))
    wrong = await orders.client.delete("/api/orders/1", headers=auth(ALICE))

    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")
