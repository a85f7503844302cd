"""The admin API: shipments and webhook deliveries, for administrators only, 4xx on bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .support import Dispatcher, cancelled, make_order

ADMIN_GETS = ["/api/dispatcher/shipments", "/api/dispatcher/webhooks/failed"]


Order = dict[str, Any]


async def _three_shipments(dispatcher: Dispatcher) -> tuple[Order, Order, Order]:
    pending, gone, sent = make_order(), make_order(), make_order(total_cost=12.5)
    await dispatcher.apply(pending, gone, cancelled(gone), sent)
    # Not due for a minute: dispatch `sent` by hand.
    assert await dispatcher.service.dispatch([sent["id"]]) == 1
    return pending, gone, sent


async def test_admins_list_shipments_newest_first_and_by_status(dispatcher: Dispatcher) -> None:
    pending, gone, sent = await _three_shipments(dispatcher)
    url, admin = "/api/dispatcher/shipments", dispatcher.headers()

    everything = (await dispatcher.client.get(url, headers=admin)).json()
    blank = (await dispatcher.client.get(f"{url}?status=", headers=admin)).json()
    only_sent = (
        await dispatcher.client.get(url, params={"status": "dispatched"}, headers=admin)
    ).json()
    page = (
        await dispatcher.client.get(url, params={"limit": 1, "offset": 1}, headers=admin)
    ).json()
    none = (await dispatcher.client.get(url, params={"offset": 10}, headers=admin)).json()

    assert [s["order_id"] for s in everything] == [sent["id"], gone["id"], pending["id"]]
    assert [s["status"] for s in everything] == ["dispatched", "cancelled", "pending"]
    assert blank == everything
    [shipment] = only_sent
    assert shipment["order_id"] == sent["id"]
    assert shipment["total_cost"] == 12.5
    assert shipment["reference"] == sent["reference"]
    assert shipment["dispatched_at"] is not None
    assert [s["order_id"] for s in page] == [gone["id"]]
    assert none == []


async def test_one_shipment_by_order_id(dispatcher: Dispatcher) -> None:
    order = make_order()
    await dispatcher.apply(order)
    found = await dispatcher.client.get(
        f"/api/dispatcher/shipments/{order['id']}", headers=dispatcher.headers()
    )
    missing = await dispatcher.client.get(
        f"/api/dispatcher/shipments/{order['id'] + 1}", headers=dispatcher.headers()
    )
    assert found.status_code == 200
    assert found.json()["status"] == "pending"
    due = datetime.fromisoformat(found.json()["due_at"])
    assert due > datetime.now(UTC) + timedelta(seconds=30)
    assert (missing.status_code, missing.json()["code"]) == (404, "shipment_not_found")
    assert missing.json()["request_id"]


@pytest.mark.parametrize("path", [*ADMIN_GETS, "/api/dispatcher/shipments/1"])
async def test_reads_need_an_administrator(dispatcher: Dispatcher, path: str) -> None:
    anonymous = await dispatcher.client.get(path)
    user = await dispatcher.client.get(path, headers=dispatcher.headers(role="user"))
    bad_token = await dispatcher.client.get(path, headers={"Authorization": "Bearer nope"})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert (user.status_code, user.json()["code"]) == (403, "forbidden")
    assert bad_token.status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "status=lost",
        "limit=0",
        "limit=1001",
        "limit=ten",
        "offset=-1",
        "offset=99999999999999999999",
    ],
)
async def test_bad_shipment_queries_are_422(dispatcher: Dispatcher, query: str) -> None:
    response = await dispatcher.client.get(
        f"/api/dispatcher/shipments?{query}", headers=dispatcher.headers()
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "path",
    [
        "/api/dispatcher/shipments/abc",
        "/api/dispatcher/shipments/0",
        "/api/dispatcher/shipments/99999999999999999999",
    ],
)
async def test_bad_order_ids_are_422(dispatcher: Dispatcher, path: str) -> None:
    response = await dispatcher.client.get(path, headers=dispatcher.headers())
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


@pytest.mark.parametrize(
    ("delivery_id", "status", "code"),
    [
        ("abc", 422, "validation_error"),
        ("0", 422, "validation_error"),
        ("9223372036854775808", 422, "validation_error"),
        ("12345", 404, "delivery_not_found"),
    ],
)
async def test_retrying_a_bad_or_unknown_delivery_is_a_clear_4xx(
    dispatcher: Dispatcher, delivery_id: str, status: int, code: str
) -> None:
    response = await dispatcher.client.post(
        f"/api/dispatcher/webhooks/{delivery_id}/retry", headers=dispatcher.headers()
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_unknown_routes_and_methods_answer_json(dispatcher: Dispatcher) -> None:
    missing = await dispatcher.client.get("/api/dispatcher/nothing", headers=dispatcher.headers())
    wrong_method = await dispatcher.client.delete(
        "/api/dispatcher/shipments", headers=dispatcher.headers()
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")


async def test_health_and_readiness(dispatcher: Dispatcher) -> None:
    health = await dispatcher.client.get("/health")
    ready = await dispatcher.client.get("/ready")
    assert health.json() == {"status": "ok", "service": "dispatcher"}
    assert ready.status_code == 200


async def test_the_openapi_document_describes_the_admin_routes(dispatcher: Dispatcher) -> None:
    response = await dispatcher.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/dispatcher/shipments",
        "/api/dispatcher/shipments/{order_id}",
        "/api/dispatcher/webhooks/failed",
        "/api/dispatcher/webhooks/{delivery_id}/retry",
    } <= set(paths)
