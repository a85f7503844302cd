"""Hostile input and access on the running platform, through the gateway.

Forged and stale tokens, another user's resources, admin endpoints with a
user's token, login brute force, injection payloads, oversized and deeply
nested bodies, the registry behind the gateway, production start-up with
placeholder secrets, and the logs of every service afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import jwt as pyjwt
import pytest

from harness.resources import postgres_dsn
from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.launcher import SERVICES, ServiceSpec
from tests.platform_fixtures import ADMIN, JWT_SECRET, REGISTRY_TOKEN, Platform
from tests.support import wait_for
from tests.system.commerce import add_product
from tests.system.test_payments_flow import call, register

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ISSUER = "shopmesh-auth"
PASSWORD = "s3cret-pass"  # what tests.system.test_payments_flow.register gives every user


# --- tokens -----------------------------------------------------------------------------


def _token(
    *,
    secret: str = JWT_SECRET,
    issuer: str = ISSUER,
    issued: timedelta = timedelta(0),
    ttl: timedelta = timedelta(minutes=15),
    role: str = "user",
) -> str:
    principal = Principal(user_id=424242, username="mallory", role=role)
    now = datetime.now(UTC) + issued
    return issue_token(principal, secret=secret, issuer=issuer, ttl=ttl, now=now)


def _unsigned() -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "424242", "username": "mallory", "role": "admin", "iss": ISSUER}
    return pyjwt.encode({**claims, "iat": now, "exp": now + 900}, key=None, algorithm="none")


FORGED = {
    "alg none": _unsigned,
    "wrong key": lambda: _token(secret="not-the-platform-secret-0123456789-abcdef"),
    "expired": lambda: _token(issued=-timedelta(hours=2), ttl=timedelta(hours=1)),
    "not yet valid": lambda: _token(issued=timedelta(hours=1)),
    "wrong issuer": lambda: _token(issuer="someone-else"),
    "garbage": lambda: "eyJnb3Rj.aGE.x",
}


@pytest.mark.parametrize("target", ["gateway", "service"])
@pytest.mark.parametrize("kind", FORGED)
async def test_forged_and_stale_tokens_are_401_at_the_gateway_and_at_the_service(
    platform: Platform, kind: str, target: str
) -> None:
    base = platform.gateway if target == "gateway" else platform.urls["orders"]
    async with aiohttp.ClientSession(base_url=base) as session:
        status, body = await call(session, "GET", "/api/orders", FORGED[kind]())
        # An expired token says so: the client's cue to use its refresh cookie.
        expected = "token_expired" if kind == "expired" else "invalid_token"
        assert (status, body["code"]) == (401, expected), body
        # The same request with a sound token of that made-up user goes through.
        status, _ = await call(session, "GET", "/api/orders", _token())
        assert status == 200


async def test_a_forged_admin_token_opens_no_admin_endpoint(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    forged = _token(secret="not-the-platform-secret-0123456789-abcdef", role="admin")
    for path in ("/api/customers", "/api/dispatcher/webhooks/failed", "/api/analytics/users"):
        status, body = await call(http, "GET", path, forged)
        assert (status, body["code"]) == (401, "invalid_token"), path


def _set_cookie(response: aiohttp.ClientResponse) -> str:
    return response.cookies["shopmesh_refresh"].value


async def _age_refresh_use(platform: Platform, cookie: str, seconds: int) -> None:
    """Move the exchange of ``cookie`` back in time, as if it happened ``seconds`` ago."""
    connection = await asyncpg.connect(postgres_dsn(platform.database_url("auth")))
    try:
        await connection.execute(
            "UPDATE refresh_token SET used_at = used_at - make_interval(secs => $2)"
            " WHERE token_hash = $1",
            hashlib.sha256(cookie.encode()).hexdigest(),
            seconds,
        )
    finally:
        await connection.close()


async def test_a_refresh_cookie_works_once_and_its_late_reuse_ends_the_session(
    platform: Platform,
) -> None:
    # No cookie jar: each request carries exactly the cookie the test names.
    async with aiohttp.ClientSession(
        base_url=platform.gateway, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        username = f"user_{uuid.uuid4().hex[:10]}"
        async with http.post(
            "/auth/register", json={"username": username, "password": PASSWORD}
        ) as response:
            assert response.status == 201
            first = _set_cookie(response)

        async def refresh(cookie: str) -> aiohttp.ClientResponse:
            async with http.post(
                "/auth/refresh", headers={"Cookie": f"shopmesh_refresh={cookie}"}
            ) as response:
                await response.read()
                return response

        rotated = await refresh(first)
        assert rotated.status == 200
        second = _set_cookie(rotated)
        assert second != first
        # A second tab's exchange of the same cookie a moment later: the same answer.
        again = await refresh(first)
        assert (again.status, _set_cookie(again)) == (200, second)
        # The same cookie a minute after its exchange: someone kept a copy of it.
        await _age_refresh_use(platform, first, 60)
        replay = await refresh(first)
        assert replay.status == 401
        # The stolen-and-replayed session is over for its newer cookie as well.
        assert (await refresh(second)).status == 401


# --- another user's things --------------------------------------------------------------


async def _alices_world(http: aiohttp.ClientSession, admin_token: str) -> dict[str, Any]:
    alice = await register(http)
    token = alice["token"]
    status, tx = await call(
        http, "POST", "/payment/transactions", token, json={"amount": 12.5, "description": "tea"}
    )
    assert status == 201, tx
    product = await add_product(http, admin_token, price=3, stock=4)
    status, order = await call(
        http, "POST", "/api/orders", token, json={"product_id": product["id"], "quantity": 1}
    )
    assert status == 201, order
    # Paid: its charge is among alice's transactions before anyone looks at them.
    await wait_for(
        lambda: call(http, "GET", f"/api/orders/{order['id']}", token),
        until=lambda r: r[1].get("transaction_id") is not None,
        what="alice's order paid",
    )
    _, profile = await wait_for(
        lambda: call(http, "GET", "/api/customers/me", token),
        until=lambda r: r[0] == 200,
        what="alice's customer profile",
    )
    return {"user": alice, "tx": tx, "order": order, "profile": profile, "product": product}


async def _snapshot(
    http: aiohttp.ClientSession, world: dict[str, Any], admin_token: str
) -> dict[str, Any]:
    token = world["user"]["token"]
    _, listed = await call(http, "GET", "/payment/transactions/list", token)
    _, profile = await call(http, "GET", "/api/customers/me", token)
    _, product = await call(http, "GET", f"/api/products/{world['product']['id']}")
    _, customers = await call(http, "GET", "/api/customers?limit=1", admin_token)
    _, failed = await call(http, "GET", "/api/dispatcher/webhooks/failed", admin_token)
    return {
        "transactions": listed["transactions"],
        "profile": profile,
        "product": product,
        "customer_count": len(customers) if isinstance(customers, list) else customers,
        "failed_webhooks": failed,
    }


def _attempts(world: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    alice = world["user"]["id"]
    order, profile, product = world["order"]["id"], world["profile"]["id"], world["product"]["id"]
    someone = {"name": "Mallory", "email": "mallory@example.com"}
    # Acting for alice with one's own token.
    yield "GET", f"/api/payments/transactions?user_id={alice}", None
    yield "GET", f"/payment/transactions/list?user_id={alice}", None
    yield "POST", f"/payment/transactions/pay?user_id={alice}", None
    yield "GET", f"/api/payments/summary?user_id={alice}", None
    yield "POST", "/payment/transactions", {"amount": 1, "description": "x", "user_id": alice}
    yield "GET", f"/api/orders/{order}", None
    yield "POST", f"/api/orders/{order}/cancel", None
    yield "GET", f"/api/customers/{profile}", None
    yield "PUT", f"/api/customers/{profile}", someone
    yield "PATCH", f"/api/customers/{profile}", {"name": "Mallory"}
    yield "DELETE", f"/api/customers/{profile}", None
    # Admin work with a user's token.
    yield "GET", "/api/customers", None
    yield "POST", "/api/customers", {**someone, "user_id": alice}
    yield "POST", "/api/products", {"name": "Fake", "price": 1, "sku": "FAKE-1"}
    yield "PUT", f"/api/products/{product}", {"name": "Pwned", "price": 0.01, "sku": "PWN"}
    yield "PATCH", f"/api/products/{product}", {"price": 0.01}
    yield "DELETE", f"/api/products/{product}", None
    yield "POST", "/api/products/reservations", {"order_id": 1, "lines": []}
    yield "GET", "/api/dispatcher/shipments", None
    yield "GET", f"/api/dispatcher/shipments/{order}", None
    yield "GET", "/api/dispatcher/webhooks/failed", None
    yield "POST", "/api/dispatcher/webhooks/1/retry", None
    yield "GET", "/api/analytics/users", None


async def test_another_users_token_reads_and_changes_nothing(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    world = await _alices_world(http, admin_token)
    bob = (await register(http))["token"]
    before = await _snapshot(http, world, admin_token)

    answers = {}
    for method, path, body in _attempts(world):
        status, _ = await call(http, method, path, bob, json=body)
        answers[f"{method} {path}"] = status
    assert {attempt: s for attempt, s in answers.items() if s not in {403, 404}} == {}

    alice = world["user"]["token"]
    status, order = await call(http, "GET", f"/api/orders/{world['order']['id']}", alice)
    assert status == 200
    assert order["status"] != "Cancelled"
    assert await _snapshot(http, world, admin_token) == before
    assert all(not t["is_paid"] for t in before["transactions"])


# --- brute force, injection, sizes, the registry -----------------------------------------


async def test_login_brute_force_is_429_from_the_threshold_on(
    platform: Platform, http: aiohttp.ClientSession
) -> None:
    user = await register(http)
    attacker = {"X-Forwarded-For": "198.51.100.23"}  # the test acts as the trusted proxy
    statuses = []
    for attempt in range(14):
        password = PASSWORD if attempt == 13 else f"wrong-guess-{attempt:02d}"
        status, body = await call(
            http,
            "POST",
            "/auth/login",
            json={"username": user["username"], "password": password},
            headers=dict(attacker),
        )
        statuses.append((status, body["code"]))
    # 10 per minute: ten wrong answers, then refusals -- even for the right password.
    assert statuses[:10] == [(401, "invalid_credentials")] * 10
    assert set(statuses[10:]) == {(429, "rate_limited")}
    # The user, from another address, is not locked out for good... but the username is.
    status, body = await call(
        http,
        "POST",
        "/auth/login",
        json={"username": user["username"], "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert (status, body["code"]) == (429, "rate_limited")


PAYLOADS = [
    "Robert'); DROP TABLE customer; --",
    "' OR '1'='1",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "1; SELECT pg_sleep(5) --",
]


async def test_sql_and_script_payloads_are_stored_and_returned_as_plain_data(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str
) -> None:
    user = await register(http)
    token = user["token"]
    await wait_for(
        lambda: call(http, "GET", "/api/customers/me", token),
        until=lambda r: r[0] == 200,
        what="the customer profile",
    )
    for payload in PAYLOADS:
        status, profile = await call(
            http,
            "PATCH",
            "/api/customers/me",
            token,
            json={"name": payload, "address": payload, "email": "bobby@example.com"},
        )
        assert status == 200, profile
        assert (profile["name"], profile["address"]) == (payload, payload)
        async with http.get(
            "/api/customers/me", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.content_type == "application/json"
            assert (await response.json())["name"] == payload

    status, tx = await call(
        http, "POST", "/payment/transactions", token, json={"amount": 1, "description": PAYLOADS[0]}
    )
    assert (status, tx["description"]) == (201, PAYLOADS[0])

    product = await add_product(http, admin_token, price=2, stock=1)
    status, changed = await call(
        http,
        "PATCH",
        f"/api/products/{product['id']}",
        admin_token,
        json={"description": PAYLOADS[2]},
    )
    assert (status, changed["description"]) == (200, PAYLOADS[2])

    for payload in PAYLOADS:
        status, found = await call(http, "GET", "/api/products", params={"q": payload})
        assert status == 200
        # A match is a product holding the text, never "every row" from a rewritten WHERE.
        assert all(
            payload.lower() in f"{p['name']} {p['description']} {p['brand']}".lower() for p in found
        )
        status, found = await call(
            http, "GET", "/api/customers", admin_token, params={"q": payload}
        )
        assert status == 200, found
        assert all(payload.lower() in f"{c['name']} {c['email']}".lower() for c in found)
    _, found = await call(http, "GET", "/api/products", params={"q": PAYLOADS[2]})
    assert product["id"] in [p["id"] for p in found]
    # The tables are all still there.
    status, _ = await call(http, "GET", "/api/customers/me", token)
    assert status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/payment/transactions"),
        ("POST", "/api/orders"),
        ("PUT", "/api/customers/me"),
        ("POST", "/auth/register"),
    ],
)
async def test_oversized_and_deeply_nested_bodies_are_refused_cleanly(
    platform: Platform, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    token = (await register(http))["token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    oversized = b'{"description": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    nested = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    for body, expected in ((oversized, 413), (nested, 422)):
        async with http.request(method, path, data=io.BytesIO(body), headers=headers) as response:
            answer = await response.json()
            assert response.status == expected, answer
            assert set(answer) >= {"error", "code", "request_id"}
            assert "Traceback" not in answer["error"]
    status, listed = await call(http, "GET", "/payment/transactions/list", token)
    assert (status, listed) == (200, {"transactions": []})


@pytest.mark.parametrize(
    "path",
    [
        "/api/registry/services",
        "/api/registry/services/payments",
        "/registry/services",
        "/services",
        "/api/registry",
    ],
)
async def test_the_registry_is_not_reachable_through_the_gateway(
    platform: Platform, http: aiohttp.ClientSession, admin_token: str, path: str
) -> None:
    for headers in (
        {"Authorization": f"Bearer {admin_token}"},
        {"X-Registry-Token": REGISTRY_TOKEN},
    ):
        async with http.get(path, headers=headers) as response:
            assert response.status == 404
            assert (await response.json())["code"] == "not_found"


# --- production start-up and the logs ----------------------------------------------------


STRONG = "a-real-secret-of-forty-characters-012345"
PLACEHOLDER_CASES = {
    # Nothing configured: the development defaults.
    "defaults": ({}, "SHOPMESH_JWT_SECRET"),
    # Real JWT, admin and webhook secrets, but the registry token left at its default.
    "registry token": (
        {
            "SHOPMESH_JWT_SECRET": STRONG,
            "SHOPMESH_ADMIN_PASSWORD": STRONG,
            "DISPATCHER_WEBHOOK_SECRET": STRONG,
            "SHOPMESH_REGISTRY_URL": "http://127.0.0.1:9",
        },
        "SHOPMESH_REGISTRY_TOKEN",
    ),
}


SPECS = [s for s in SERVICES if s.name != "web"]
REPO = Path(__file__).resolve().parents[2]


def _production_env(spec: ServiceSpec, configured: dict[str, str], home: Path) -> dict[str, str]:
    """The whole environment of ``spec``'s process in production mode with ``configured``."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "SHOPMESH_ENV": "production",
        "SHOPMESH_DATA_DIR": str(home),
        f"{spec.env_prefix}_PORT": "0",
        **configured,
    }


@pytest.fixture(scope="module")
async def production_starts(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], Any]:
    """Every service's console script started in production mode with each placeholder case;
    each start's exit code and output. Each start is a process of its own, forked from one
    interpreter that imported the services once (tests/system/production_start.py): 18 fresh
    interpreters took a minute of imports, and longer than a start's time limit when busy."""
    cases = [(spec, case) for spec in SPECS for case in PLACEHOLDER_CASES]
    starts = [
        {
            "command": spec.command,
            "env": _production_env(spec, PLACEHOLDER_CASES[case][0], tmp_path_factory.mktemp("p")),
        }
        for spec, case in cases
    ]
    starter = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.system.production_start",
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await starter.communicate(json.dumps(starts).encode())
    assert starter.returncode == 0, output[-3000:]
    outcomes = json.loads(output)
    return {
        (spec.name, case): outcome for (spec, case), outcome in zip(cases, outcomes, strict=True)
    }


@pytest.mark.parametrize("case", PLACEHOLDER_CASES)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
async def test_production_mode_refuses_to_start_with_placeholder_secrets(
    production_starts: dict[tuple[str, str], Any], spec: ServiceSpec, case: str
) -> None:
    refused = PLACEHOLDER_CASES[case][1]
    returncode, text = production_starts[(spec.name, case)]
    assert returncode != 0, text[-3000:]
    assert "production mode refuses placeholder" in text, text[-3000:]
    assert refused in text, text[-3000:]
    assert "dev-only" not in text  # the refused values themselves are never printed


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


async def test_no_password_token_or_secret_appears_in_any_log_line(platform: Platform) -> None:
    # Runs after the flows above: every service has seen logins, tokens and refresh cookies.
    secrets = [PASSWORD, ADMIN[1], JWT_SECRET, REGISTRY_TOKEN]
    leaks = []
    for log in sorted(platform.launcher.log_dir.glob("*.log")):
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            if any(s in line for s in secrets) or _JWT.search(line) or "shopmesh_refresh=" in line:
                leaks.append(f"{log.name}:{number}: {line[:300]}")
    assert leaks == []
    assert any(platform.launcher.log_dir.glob("gateway*.log"))
