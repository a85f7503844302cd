"""Refused requests: bad tokens, someone else's user_id, bad input. Each leaves nothing behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shopmesh.kit.jwt import Principal, issue_token
from tests.support import SECRET, shared_sqlite_url

from .support import ALICE, BOB, Payments, running

CREATE = "/api/payments/transactions"
LIST = "/api/payments/transactions/list"
PAY = "/api/payments/transactions/pay"
SUMMARY = "/api/payments/summary"
ENDPOINTS = [
    ("POST", CREATE),
    ("GET", CREATE),
    ("GET", LIST),
    ("POST", PAY),
    ("GET", SUMMARY),
]
NOTHING = {"payment_transaction": 0, "account": 0, "idempotency_record": 0, "outbox_message": 0}


def _assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    assert "Traceback" not in response.text


def _expired_token() -> str:
    long_ago = datetime.now(UTC) - timedelta(days=2)
    return issue_token(
        Principal(ALICE, "alice"),
        secret=SECRET,
        issuer="shopmesh-auth",
        ttl=timedelta(hours=1),
        now=long_ago,
    )


def _foreign_token() -> str:
    return issue_token(
        Principal(ALICE, "alice"),
        secret="another-secret-0123456789-0123456789-xyz",
        issuer="shopmesh-auth",
        ttl=timedelta(hours=1),
    )


@pytest.fixture(scope="module")
async def refusing(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Payments]:
    """One app for the module's refusals: every request sent to it is refused (or only
    reads), so its tables stay empty and each test still finds exactly NOTHING in them."""
    async with running(shared_sqlite_url(tmp_path_factory, "payments")) as service:
        yield service


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "unauthorized"),
        ("", "unauthorized"),
        ("Bearer", "invalid_token"),
        ("Bearer not-a-jwt", "invalid_token"),
        ("Basic dXNlcjpwdw==", "unauthorized"),
        ("expired", "token_expired"),
        ("foreign", "invalid_token"),
    ],
)
async def test_missing_or_bad_token_is_401(
    refusing: Payments, method: str, path: str, authorization: str | None, code: str
) -> None:
    tokens = {"expired": _expired_token(), "foreign": f"Bearer {_foreign_token()}"}
    headers = {}
    if authorization is not None:
        headers["Authorization"] = tokens.get(authorization, authorization)
    response = await refusing.client.request(method, path, headers=headers, json={"amount": 5})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code
    assert await refusing.counts() == NOTHING


async def test_bare_token_without_bearer_is_accepted(refusing: Payments) -> None:
    bare = refusing.headers(ALICE)["Authorization"].removeprefix("Bearer ")
    response = await refusing.client.get(LIST, headers={"Authorization": bare})
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["user", "admin"])
async def test_other_user_id_in_body_is_forbidden_and_writes_nothing(
    payments: Payments, role: str
) -> None:
    response = await payments.client.post(
        CREATE, json={"amount": 5, "user_id": BOB}, headers=payments.headers(ALICE, role=role)
    )
    _assert_error(response, 403, "forbidden")
    assert await payments.counts() == NOTHING
    assert (await payments.list(BOB)).json() == []


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[1:])
@pytest.mark.parametrize("role", ["user", "admin"])
async def test_other_user_id_in_query_is_forbidden(
    payments: Payments, method: str, path: str, role: str
) -> None:
    await payments.create(BOB, 10)
    before = await payments.counts()
    response = await payments.client.request(
        method, path, params={"user_id": BOB}, headers=payments.headers(ALICE, role=role)
    )
    _assert_error(response, 403, "forbidden")
    assert await payments.counts() == before
    assert (await payments.list(BOB)).json()[0]["is_paid"] is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"description": "no amount"},
        {"amount": None},
        {"amount": -5},
        {"amount": 0},
        {"amount": 0.0},
        {"amount": 1.234},
        {"amount": "0.001"},
        {"amount": 10_000_000_000},
        {"amount": 1e300},
        {"amount": True},
        {"amount": False},
        {"amount": "abc"},
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": "1_0"},
        {"amount": "\u0661\u0660"},
        {"amount": "\uff11\uff10"},
        {"amount": [5]},
        {"amount": {"value": 5}},
        {"amount": 5, "description": "x" * 501},
        {"amount": 5, "description": 123},
        {"amount": 5, "description": ["a"]},
        {"amount": 5, "user_id": "abc"},
        {"amount": 5, "user_id": True},
        {"amount": 5, "user_id": 1.5},
        [],
        [{"amount": 5}],
        "5",
        5,
        None,
    ],
)
async def test_invalid_create_body_is_422_and_writes_nothing(refusing: Payments, body: Any) -> None:
    response = await refusing.client.post(CREATE, json=body, headers=refusing.headers(ALICE))
    _assert_error(response, 422, "validation_error")
    assert response.json()["details"]
    assert await refusing.counts() == NOTHING


@pytest.mark.parametrize(
    "raw",
    [b'{"amount": NaN}', b'{"amount": Infinity}', b'{"amount": -Infinity}', b'{"amount": 0.1e-2}'],
)
async def test_non_finite_or_tiny_json_numbers_are_422(refusing: Payments, raw: bytes) -> None:
    headers = refusing.headers(ALICE, **{"Content-Type": "application/json"})
    response = await refusing.client.post(CREATE, content=raw, headers=headers)
    _assert_error(response, 422, "validation_error")
    assert await refusing.counts() == NOTHING


@pytest.mark.parametrize("raw", [b'{"amount": 5', b"amount=5", b'{"amount": 5,}', b"\xff\xfe"])
async def test_invalid_json_is_400(refusing: Payments, raw: bytes) -> None:
    headers = refusing.headers(ALICE, **{"Content-Type": "application/json"})
    response = await refusing.client.post(CREATE, content=raw, headers=headers)
    _assert_error(response, 400, "invalid_json")
    assert await refusing.counts() == NOTHING


async def test_description_of_500_characters_is_accepted(payments: Payments) -> None:
    response = await payments.create(ALICE, 5, description="é" * 500)
    assert response.status_code == 201
    assert response.json()["description"] == "é" * 500


@pytest.mark.parametrize("path", [CREATE, PAY])
async def test_oversized_body_is_413_and_writes_nothing(refusing: Payments, path: str) -> None:
    body = {"amount": 5, "description": "x" * (2 * 1024 * 1024)}
    response = await refusing.client.post(path, json=body, headers=refusing.headers(ALICE))
    _assert_error(response, 413, "payload_too_large")
    assert await refusing.counts() == NOTHING


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (LIST, {"limit": 0}),
        (LIST, {"limit": 1001}),
        (LIST, {"limit": "ten"}),
        (LIST, {"offset": -1}),
        (LIST, {"user_id": "abc"}),
        (CREATE, {"limit": 0}),
        (SUMMARY, {"user_id": "abc"}),
    ],
)
async def test_invalid_query_is_422(refusing: Payments, path: str, params: dict[str, Any]) -> None:
    response = await refusing.client.get(path, params=params, headers=refusing.headers(ALICE))
    _assert_error(response, 422, "validation_error")


async def test_invalid_query_on_pay_is_422_and_pays_nothing(payments: Payments) -> None:
    await payments.create(ALICE, 5)
    before = await payments.counts()
    response = await payments.client.post(
        PAY, params={"user_id": "me"}, headers=payments.headers(ALICE)
    )
    _assert_error(response, 422, "validation_error")
    assert await payments.counts() == before
    assert (await payments.list(ALICE)).json()[0]["is_paid"] is False


@pytest.mark.parametrize("key", ["", "k" * 201])
@pytest.mark.parametrize("path", [CREATE, PAY])
async def test_idempotency_key_outside_1_to_200_chars_is_422(
    refusing: Payments, key: str, path: str
) -> None:
    headers = refusing.headers(ALICE, **{"Idempotency-Key": key})
    response = await refusing.client.post(path, json={"amount": 5}, headers=headers)
    _assert_error(response, 422, "validation_error")
    assert await refusing.counts() == NOTHING


async def test_refused_over_limit_request_writes_nothing(refusing: Payments) -> None:
    response = await refusing.create(ALICE, 1000.01, key="too-big")
    _assert_error(response, 422, "limit_exceeded")
    assert await refusing.counts() == NOTHING


async def test_unknown_route_is_json_404(refusing: Payments) -> None:
    response = await refusing.client.get("/api/payments/nope", headers=refusing.headers(ALICE))
    _assert_error(response, 404, "not_found")


async def test_wrong_method_is_json_405(refusing: Payments) -> None:
    response = await refusing.client.delete(CREATE, headers=refusing.headers(ALICE))
    _assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize(
    "raw",
    [b'{"amount": 5, "description": "nul\\u0000byte"}', b'{"amount": 5, "description": "\\ud800"}'],
)
async def test_text_a_database_cannot_store_is_422_on_both_databases(
    database_url: str, raw: bytes
) -> None:
    async with running(database_url) as payments:
        headers = payments.headers(ALICE, **{"Content-Type": "application/json"})
        response = await payments.client.post(CREATE, content=raw, headers=headers)
        _assert_error(response, 422, "validation_error")
        assert await payments.counts() == NOTHING
