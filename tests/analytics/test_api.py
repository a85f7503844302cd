"""The HTTP API over the ASGI app (SQLite, no Kafka): public totals, admin-only breakdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shopmesh.analytics.consumers import HANDLERS
from shopmesh.analytics.main import create_app
from shopmesh.analytics.repository import AnalyticsUnitOfWork
from shopmesh.kit.db import Database
from shopmesh.kit.migrations import migrate
from tests.analytics.factories import created, envelope, later, paid, settings, token
from tests.support import serve_in_process

EMPTY = {
    "total_transactions": 0,
    "total_amount": 0,
    "total_paid_transactions": 0,
    "events_processed": 0,
    "unique_users": 0,
    "last_event_time": None,
}


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(settings(sqlite_url))) as client:
        yield client


async def seed(database_url: str, *payloads: dict[str, Any]) -> None:
    """Apply events to the service's database the way the consumer would."""
    db = Database(database_url)
    try:
        await migrate(db, "shopmesh.analytics:migrations")
        for payload in payloads:
            event = envelope(payload)
            async with AnalyticsUnitOfWork(db) as uow:
                await HANDLERS[event.event_type](uow, event)
    finally:
        await db.close()


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role=role)}"}


@pytest.mark.parametrize("path", ["/stats", "/api/analytics/stats"])
async def test_stats_of_an_empty_database_are_zeros(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    body = response.json()
    assert body == EMPTY
    assert isinstance(body["total_amount"], float)


async def test_health_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "analytics"}


@pytest.mark.parametrize("path", ["/stats", "/api/analytics/stats"])
async def test_stats_report_the_applied_events(sqlite_url: str, path: str) -> None:
    await seed(
        sqlite_url,
        created(user_id=7, amount=0.1, at=later(1)),
        created(user_id=8, amount=0.2, at=later(2)),
        paid(user_id=7, transactions_paid=1, at=later(3)),
    )

    async with serve_in_process(create_app(settings(sqlite_url))) as client:
        response = await client.get(path)

    assert response.status_code == 200
    assert response.json() == {
        "total_transactions": 2,
        "total_amount": 0.3,
        "total_paid_transactions": 1,
        "events_processed": 3,
        "unique_users": 2,
        "last_event_time": "2025-03-01T12:03:00Z",
    }


async def test_user_breakdown_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/analytics/users")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.json()["error"]


async def test_user_breakdown_refuses_a_user_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/analytics/users", headers=bearer("user"))

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_user_breakdown_refuses_a_forged_token(client: httpx.AsyncClient) -> None:
    forged = token(role="admin")[:-4] + "AAAA"
    response = await client.get(
        "/api/analytics/users", headers={"Authorization": f"Bearer {forged}"}
    )

    assert response.status_code == 401


async def test_user_breakdown_of_an_empty_database_is_an_empty_array(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/analytics/users", headers=bearer("admin"))

    assert response.status_code == 200
    assert response.json() == []


async def test_admin_sees_users_by_amount_then_user_id(sqlite_url: str) -> None:
    await seed(
        sqlite_url,
        created(user_id=3, amount=5, at=later(1)),
        created(user_id=1, amount=20.5, at=later(2)),
        created(user_id=2, amount=5, at=later(3)),
        paid(user_id=2, transactions_paid=1, at=later(4)),
    )

    async with serve_in_process(create_app(settings(sqlite_url))) as client:
        everyone = await client.get("/api/analytics/users", headers=bearer("admin"))
        page = await client.get(
            "/api/analytics/users", params={"limit": 1, "offset": 1}, headers=bearer("admin")
        )

    assert everyone.status_code == 200
    assert everyone.json() == [
        {
            "user_id": 1,
            "transactions": 1,
            "amount": 20.5,
            "paid_transactions": 0,
            "last_event_time": "2025-03-01T12:02:00Z",
        },
        {
            "user_id": 2,
            "transactions": 1,
            "amount": 5.0,
            "paid_transactions": 1,
            "last_event_time": "2025-03-01T12:04:00Z",
        },
        {
            "user_id": 3,
            "transactions": 1,
            "amount": 5.0,
            "paid_transactions": 0,
            "last_event_time": "2025-03-01T12:01:00Z",
        },
    ]
    assert [u["user_id"] for u in page.json()] == [2]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "limit=many"])
async def test_bad_paging_is_a_validation_error(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/api/analytics/users?{query}", headers=bearer("admin"))

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_openapi_documents_the_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/stats", "/api/analytics/stats", "/api/analytics/users"} <= set(paths)
