"""Orders' answers to the dispatcher (`POST /api/orders/dispatches`, platform services only) and
to pages (`GET /api/orders/settings`: whether orders are paid before they ship)."""

from __future__ import annotations

import pytest

from shopmesh.kit.jwt import SERVICE_ROLE
from tests.support import bearer

from .support import ALICE, Fakes, Orders, at, auth, running


async def test_the_dispatcher_is_told_which_orders_may_leave_and_asking_again_says_the_same(
    service: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00")
    kept, withdrawn = await service.place_one(ALICE, tea), await service.place_one(ALICE, tea)
    await service.set_status(kept["id"], "Paid")
    await service.cancel(ALICE, withdrawn["id"])
    unknown = withdrawn["id"] + 1000

    first = await service.ask_to_dispatch(kept["id"], withdrawn["id"], unknown, kept["id"])
    again = await service.ask_to_dispatch(kept["id"], withdrawn["id"], unknown)

    expected = {"dispatched": [kept["id"]], "refused": [withdrawn["id"], unknown]}
    assert (first.status_code, first.json()) == (200, expected)
    assert (again.status_code, again.json()) == (200, expected)
    read = (await service.get(ALICE, kept["id"])).json()
    assert (read["status"], read["updated_by"]) == ("Dispatched", "dispatcher")
    assert at(read["updated_at"]) > at(kept["updated_at"])
    refused = await service.cancel(ALICE, kept["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "already_dispatched")
    assert (await service.get(ALICE, withdrawn["id"])).json()["status"] == "Cancelled"


async def test_only_a_platform_service_may_ask_to_dispatch(orders: Orders, fakes: Fakes) -> None:
    order = await orders.place_one(ALICE, fakes.products.add("Tea", "1.00"))
    refused = await orders.ask_to_dispatch(order["id"], role="user")
    anonymous = await orders.client.post(
        "/api/orders/dispatches", json={"order_ids": [order["id"]]}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert anonymous.status_code == 401
    assert (await orders.get(ALICE, order["id"])).json()["status"] == "Created"


@pytest.mark.parametrize(
    "body", [{}, {"order_ids": []}, {"order_ids": [0]}, {"order_ids": ["1"]}, [1, 2]]
)
async def test_a_malformed_question_is_refused_and_changes_nothing(
    orders: Orders, body: object
) -> None:
    headers = bearer(0, role=SERVICE_ROLE)
    answer = await orders.client.post("/api/orders/dispatches", json=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (422, "validation_error")


@pytest.mark.parametrize("required", [True, False])
async def test_pages_learn_whether_orders_are_paid_before_they_ship(
    sqlite_url: str, fakes: Fakes, required: bool
) -> None:
    async with running(sqlite_url, fakes.urls(), require_payment=required) as orders:
        answer = await orders.client.get("/api/orders/settings", headers=auth(ALICE))
        anonymous = await orders.client.get("/api/orders/settings")
    assert (answer.status_code, answer.json()) == (200, {"payment_required": required})
    assert anonymous.status_code == 401
