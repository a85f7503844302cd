"""The payments seed's flow, end to end through the gateway on PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from tests.platform_fixtures import Platform
from tests.support import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def call(
    http: aiohttp.ClientSession, method: str, path: str, token: str | None = None, **kwargs: Any
) -> tuple[int, Any]:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.request(method, path, headers=headers, **kwargs) as response:
        return response.status, await response.json()


async def register(http: aiohttp.ClientSession) -> dict[str, Any]:
    username = f"user_{uuid.uuid4().hex[:10]}"
    status, body = await call(
        http, "POST", "/auth/register", json={"username": username, "password": "s3cret-pass"}
    )
    assert status == 201, body
    return body


async def stats(http: aiohttp.ClientSession) -> dict[str, Any]:
    status, body = await call(http, "GET", "/analytics/stats")
    assert status == 200, body
    return body


async def test_register_login_transact_pay_and_analytics_counts_each_event_once(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    before = await stats(http)
    user = await register(http)
    assert set(user) >= {"id", "username", "token"}
    status, login = await call(
        http, "POST", "/auth/login", json={"username": user["username"], "password": "s3cret-pass"}
    )
    assert status == 200
    assert login["id"] == user["id"]
    token = login["token"]

    for amount in ("300.50", "400.00", "200.00"):
        status, tx = await call(
            http,
            "POST",
            "/payment/transactions",
            token,
            json={"amount": float(amount), "description": f"buy {amount}"},
        )
        assert status == 201, tx
        assert tx["user_id"] == user["id"]
        assert Decimal(str(tx["amount"])) == Decimal(amount)
        assert tx["is_paid"] is False

    status, listed = await call(http, "GET", "/payment/transactions/list", token)
    assert status == 200
    assert [t["description"] for t in listed["transactions"]] == [
        "buy 200.00",
        "buy 400.00",
        "buy 300.50",
    ]

    status, refused = await call(
        http, "POST", "/payment/transactions", token, json={"amount": 100, "description": "x"}
    )
    assert status == 422
    assert refused["code"] == "limit_exceeded"
    assert "1000.00" in refused["error"]

    status, paid = await call(http, "POST", "/payment/transactions/pay", token)
    assert (status, paid["transactions_paid"]) == (200, 3)
    status, listed = await call(http, "GET", "/payment/transactions/list", token)
    assert all(t["is_paid"] for t in listed["transactions"])

    expected = {
        "total_transactions": before["total_transactions"] + 3,
        "total_paid_transactions": before["total_paid_transactions"] + 3,
        "events_processed": before["events_processed"] + 4,
        "unique_users": before["unique_users"] + 1,
    }
    after = await wait_for(
        lambda: stats(http),
        until=lambda s: {k: s[k] for k in expected} == expected,
        what="analytics to count the flow's four events",
    )
    assert Decimal(str(after["total_amount"])) - Decimal(str(before["total_amount"])) == Decimal(
        "900.50"
    )
    assert after["last_event_time"] is not None


async def test_fifty_concurrent_charges_through_the_gateway_stop_exactly_at_the_limit(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    token = (await register(http))["token"]
    results = await asyncio.gather(
        *(
            call(
                http, "POST", "/payment/transactions", token, json={"amount": 50, "description": ""}
            )
            for _ in range(50)
        )
    )
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 20
    assert statuses.count(422) == 30
    status, listed = await call(http, "GET", "/payment/transactions/list", token)
    assert status == 200
    assert sum(Decimal(str(t["amount"])) for t in listed["transactions"]) == Decimal("1000.00")


async def test_the_caller_cannot_act_for_another_user(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    alice, bob = await register(http), await register(http)
    status, body = await call(
        http,
        "POST",
        "/payment/transactions",
        alice["token"],
        json={"amount": 10, "description": "x", "user_id": bob["id"]},
    )
    assert (status, body["code"]) == (403, "forbidden")
    status, _ = await call(
        http, "GET", f"/payment/transactions/list?user_id={bob['id']}", alice["token"]
    )
    assert status == 403
    status, bobs = await call(http, "GET", "/payment/transactions/list", bob["token"])
    assert (status, bobs) == (200, {"transactions": []})


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("", "unauthorized"),
        ("Bearer garbage", "invalid_token"),
        ("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "invalid_token"),
        ("Basic dXNlcjpwYXNz", "unauthorized"),
    ],
)
async def test_requests_without_a_valid_token_are_refused_at_the_gateway(
    platform: Platform, http: aiohttp.ClientSession, authorization: str, code: str
) -> None:
    status, body = await call(
        http, "GET", "/payment/transactions/list", headers={"Authorization": authorization}
    )
    assert status == 401
    assert body["code"] == code
