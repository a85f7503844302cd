"""The HTTP API on SQLite: the seed's flow, the limit, the summary and listing."""

from __future__ import annotations

from decimal import Decimal

from shopmesh.payments.domain import MAX_AMOUNT

from .support import ALICE, BOB, Payments, running

TX_FIELDS = {
    "id",
    "user_id",
    "amount",
    "description",
    "is_paid",
    "created_at",
    "order_id",
    "is_voided",
}


async def test_seed_flow_create_list_refuse_pay(payments: Payments) -> None:
    first = await payments.create(ALICE, 500, description="rent")
    assert first.status_code == 201
    body = first.json()
    assert set(body) == TX_FIELDS
    assert body["user_id"] == ALICE
    assert body["amount"] == 500.0
    assert body["description"] == "rent"
    assert body["is_paid"] is False
    assert body["created_at"].endswith("Z")
    second = await payments.create(ALICE, 480.00, description="food")
    assert second.status_code == 201

    listed = (await payments.list(ALICE)).json()
    assert [t["id"] for t in listed] == [second.json()["id"], first.json()["id"]]

    refused = await payments.create(ALICE, 50, description="too much")
    assert refused.status_code == 422
    error = refused.json()
    assert error["code"] == "limit_exceeded"
    assert error["error"] == (
        "total would exceed the limit of 1000.00: current total 980.00, requested 50.00"
    )
    assert error["details"] == {
        "current_total": 980.0,
        "requested": 50.0,
        "limit": 1000.0,
        "scope": "all",
    }
    assert error["request_id"]

    paid = await payments.pay(ALICE)
    assert paid.status_code == 200
    assert paid.json() == {"message": "all transactions marked as paid", "transactions_paid": 2}
    assert all(t["is_paid"] for t in (await payments.list(ALICE)).json())

    again = await payments.pay(ALICE)
    assert again.json()["transactions_paid"] == 0
    assert [e["event_type"] for e in await payments.events()] == [
        "transaction.created",
        "transaction.created",
        "transaction.paid",
    ]


async def test_the_configured_limit_and_scope_apply(sqlite_url: str) -> None:
    async with running(sqlite_url, limit=Decimal("100.50"), limit_scope="unpaid") as payments:
        assert (await payments.create(ALICE, 100.5)).status_code == 201
        refused = await payments.create(ALICE, 0.01)
        assert refused.status_code == 422
        assert refused.json()["details"] == {
            "current_total": 100.5,
            "requested": 0.01,
            "limit": 100.5,
            "scope": "unpaid",
        }
        await payments.pay(ALICE)
        assert (await payments.create(ALICE, 0.01)).status_code == 201


async def test_largest_numeric_amount_round_trips(sqlite_url: str) -> None:
    async with running(sqlite_url, limit=MAX_AMOUNT) as payments:
        created = await payments.create(ALICE, 9999999999.99)
        assert created.status_code == 201
        assert created.json()["amount"] == 9999999999.99
        assert (await payments.list(ALICE)).json()[0]["amount"] == 9999999999.99


async def test_summary_reports_totals_limit_and_remaining(payments: Payments) -> None:
    url = "/api/payments/summary"
    empty = await payments.client.get(url, headers=payments.headers(ALICE))
    assert empty.status_code == 200
    assert empty.json() == {
        "total": 0.0,
        "unpaid_total": 0.0,
        "limit": 1000.0,
        "remaining": 1000.0,
        "scope": "all",
    }
    await payments.create(ALICE, 300.25)
    await payments.pay(ALICE)
    await payments.create(ALICE, 100)
    await payments.create(BOB, 5)
    summary = await payments.client.get(url, headers=payments.headers(ALICE))
    assert summary.json() == {
        "total": 400.25,
        "unpaid_total": 100.0,
        "limit": 1000.0,
        "remaining": 599.75,
        "scope": "all",
    }


async def test_list_is_an_empty_array_for_a_new_user(payments: Payments) -> None:
    response = await payments.list(ALICE)
    assert response.status_code == 200
    assert response.json() == []


async def test_both_list_paths_return_newest_first_with_paging(payments: Payments) -> None:
    ids = [(await payments.create(ALICE, n)).json()["id"] for n in (1, 2, 3, 4)]
    newest_first = list(reversed(ids))
    plain = await payments.client.get("/api/payments/transactions", headers=payments.headers(ALICE))
    assert [t["id"] for t in plain.json()] == newest_first
    page = await payments.list(ALICE, limit=2, offset=1)
    assert [t["id"] for t in page.json()] == newest_first[1:3]


async def test_own_user_id_in_body_or_query_is_accepted(payments: Payments) -> None:
    assert (await payments.create(ALICE, 5, user_id=ALICE)).status_code == 201
    assert (await payments.list(ALICE, user_id=ALICE)).json()[0]["amount"] == 5.0
    paid = await payments.client.post(
        "/api/payments/transactions/pay",
        params={"user_id": ALICE},
        headers=payments.headers(ALICE),
    )
    assert paid.json()["transactions_paid"] == 1


async def test_amount_may_be_a_numeric_string_and_description_is_optional(
    payments: Payments,
) -> None:
    response = await payments.create(ALICE, "12.5")
    assert response.status_code == 201
    assert response.json()["amount"] == 12.5
    assert response.json()["description"] == ""


async def test_openapi_documents_the_routes(payments: Payments) -> None:
    schema = (await payments.client.get("/openapi.json")).json()
    assert {
        "/api/payments/transactions",
        "/api/payments/transactions/list",
        "/api/payments/transactions/pay",
        "/api/payments/summary",
    } <= set(schema["paths"])


async def test_the_seed_list_path_answers_an_object_with_transactions(
    payments: Payments,
) -> None:
    # The payments seed's client does `setTransactions(data.transactions)` then `.reduce`.
    empty = await payments.client.get(
        "/api/payments/transactions/list", headers=payments.headers(ALICE)
    )
    assert (empty.status_code, empty.json()) == (200, {"transactions": []})
    await payments.create(ALICE, "12.50")
    await payments.create(ALICE, "3.00")

    seed = await payments.client.get(
        "/api/payments/transactions/list",
        params={"user_id": ALICE},
        headers=payments.headers(ALICE),
    )
    canonical = await payments.list(ALICE)

    assert seed.status_code == 200
    assert seed.json() == {"transactions": canonical.json()}
    assert [t["amount"] for t in seed.json()["transactions"]] == [3.0, 12.5]
