"""The payments seed's React client (tkaewplik/go-microservices, client-service/), replayed.

Served at http://localhost:3000 with ``REACT_APP_API_URL`` pointing at the gateway, it:

- LoginForm: POSTs ``{username, password}`` (JSON) to ``/auth/register`` or ``/auth/login``;
  on success keeps ``data.id``, ``data.username``, ``data.token``; on failure shows
  ``data.error``.
- TransactionForm: POSTs ``{user_id, amount: parseFloat(...), description}`` to
  ``/payment/transactions`` with an Authorization header the user may edit (it starts as
  ``Bearer <token>``); shows ``data.error`` when refused.
- TransactionList: GETs ``/payment/transactions/list?user_id=<id>`` with ``Bearer``, does
  ``setTransactions(data.transactions)``, then ``transactions.reduce(sum + t.amount)``,
  ``t.amount.toFixed(2)``, ``t.is_paid``, ``t.description``, ``new Date(t.created_at)``,
  ``key={t.id}``; POSTs ``/payment/transactions/pay?user_id=<id>`` (no body) with ``Bearer``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from tests.contracts.conftest import Browser, new_address

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ORIGIN = "http://localhost:3000"
PASSWORD = "s3cret-pass"


@pytest.fixture
def page(gateway_http: aiohttp.ClientSession) -> Browser:
    return Browser(gateway_http, ORIGIN, new_address())


async def sign_in(page: Browser, endpoint: str, username: str) -> dict[str, Any]:
    status, data = await page.call(
        "POST", endpoint, json={"username": username, "password": PASSWORD}
    )
    assert status in (200, 201), data
    assert isinstance(data["id"], int)
    assert data["username"] == username
    assert isinstance(data["token"], str)
    assert data["token"]
    return data


async def create(page: Browser, user: dict[str, Any], amount: str, **headers: str) -> Any:
    authorization = headers.get("authorization", f"Bearer {user['token']}")
    return await page.call(
        "POST",
        "/payment/transactions",
        headers={"Authorization": authorization},
        json={"user_id": user["id"], "amount": float(amount), "description": f"buy {amount}"},
    )


async def transactions(page: Browser, user: dict[str, Any]) -> list[dict[str, Any]]:
    status, data = await page.call(
        "GET",
        f"/payment/transactions/list?user_id={user['id']}",
        headers={"Authorization": f"Bearer {user['token']}"},
    )
    assert status == 200, data
    listed = data["transactions"]
    assert isinstance(listed, list)
    for t in listed:
        assert isinstance(t["id"], int)
        assert isinstance(t["amount"], int | float)
        assert not isinstance(t["amount"], bool)
        assert isinstance(t["is_paid"], bool)
        assert isinstance(t["description"], str)
        assert datetime.fromisoformat(t["created_at"]).tzinfo is not None
    return listed


async def test_register_then_the_empty_list_renders(page: Browser) -> None:
    user = await sign_in(page, "/auth/register", f"rita_{uuid.uuid4().hex[:8]}")

    # `data.transactions.reduce(...)` on the first render: the key must be there, empty.
    assert await transactions(page, user) == []


async def test_login_create_limit_list_and_pay_all(page: Browser) -> None:
    username = f"rita_{uuid.uuid4().hex[:8]}"
    registered = await sign_in(page, "/auth/register", username)
    user = await sign_in(page, "/auth/login", username)
    assert user["id"] == registered["id"]

    for amount in ("300.50", "600"):
        status, data = await create(page, user, amount)
        assert status == 201, data
    status, refused = await create(page, user, "200")
    listed = await transactions(page, user)

    assert status == 422
    assert isinstance(refused["error"], str)
    assert "1000" in refused["error"]
    assert [t["description"] for t in listed] == ["buy 600", "buy 300.50"]
    assert sum(t["amount"] for t in listed) == pytest.approx(900.50)
    assert not any(t["is_paid"] for t in listed)

    status, paid = await page.call(
        "POST",
        f"/payment/transactions/pay?user_id={user['id']}",
        headers={"Authorization": f"Bearer {user['token']}"},
    )
    assert status == 200, paid
    assert all(t["is_paid"] for t in await transactions(page, user))


async def test_the_editable_authorization_header(page: Browser) -> None:
    user = await sign_in(page, "/auth/register", f"rita_{uuid.uuid4().hex[:8]}")

    bare = await create(page, user, "10", authorization=user["token"])
    broken = await create(page, user, "10", authorization="Bearer not-a-token")

    assert bare[0] == 201, bare
    assert broken[0] == 401
    assert isinstance(broken[1]["error"], str)


async def test_a_failed_login_shows_data_error(page: Browser) -> None:
    status, data = await page.call(
        "POST",
        "/auth/login",
        json={"username": f"nobody_{uuid.uuid4().hex[:6]}", "password": "x" * 8},
    )
    assert status == 401
    assert isinstance(data["error"], str)
    assert data["error"]
