"""Schemathesis against every service's OpenAPI document, through the gateway.

Each service's own document drives the requests; they go to the gateway with
an admin token (the widest access, so validation is reached behind every
policy). Checks: no 5xx, and every documented response matches its schema.
The examples per operation and the seed are fixed, so a run is repeatable.

The fuzzer's requests carry their own X-Forwarded-For address: the login
limit it trips is that address's, not the one the other tests log in from.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.platform_fixtures import Platform
from tests.support import wait_for
from tests.system.test_payments_flow import stats

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SERVICES = ("auth", "payments", "analytics", "customers", "products", "orders", "dispatcher")
# The gateway answers these itself (or does not route them); the order stream never ends.
NOT_ROUTED = r"^/(health|ready|stats)$|/stream$"
EXAMPLES_PER_OPERATION = 10
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def _schema(platform: Platform, service: str, directory: Path) -> Path:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{platform.urls[service]}/openapi.json") as response,
    ):
        assert response.status == 200
        document = await response.json()
    path = directory / f"{service}.json"
    path.write_text(json.dumps(document))
    return path


async def _fuzz(platform: Platform, admin_token: str, service: str, directory: Path) -> None:
    """Fuzz ``service`` through the gateway; fail with the fuzzer's report if a check broke."""
    schema = await _schema(platform, service, directory)
    fuzzer = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        str(schema),
        "--url",
        platform.gateway,
        "--header",
        f"Authorization: Bearer {admin_token}",
        "--header",
        "X-Forwarded-For: 192.0.2.77",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--exclude-path-regex",
        NOT_ROUTED,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261121",
        "--generation-database",
        "none",
        "--request-timeout",
        "15",
        "--no-color",
        cwd=directory,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await fuzzer.communicate()
    report = output.decode(errors="replace")
    assert fuzzer.returncode == 0, report[-8000:]
    assert "generated" in report  # it did send requests


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "payments"])
async def test_fuzzing_through_the_gateway_finds_no_server_error_and_no_schema_break(
    platform: Platform, admin_token: str, service: str, tmp_path: Path
) -> None:
    await _fuzz(platform, admin_token, service, tmp_path)


async def test_fuzzing_payments_breaks_nothing_and_analytics_still_equals_its_ledger(
    platform: Platform, admin_token: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    await _fuzz(platform, admin_token, "payments", tmp_path)
    # Whatever the fuzzer created, the events all arrived once: the totals agree.
    connection = await asyncpg.connect(platform.database_urls["payments"].replace("+asyncpg", ""))
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE is_paid) AS paid,"
            " coalesce(sum(amount), 0) AS total FROM payment_transaction"
            " WHERE NOT is_voided"  # a voided order charge counts nowhere any more
        )
    finally:
        await connection.close()
    assert row is not None
    assert row["n"] > 0  # the fuzzer made charges: there is a ledger to agree with
    expected = {"total_transactions": row["n"], "total_paid_transactions": row["paid"]}
    final = await wait_for(
        lambda: stats(http),
        until=lambda s: {k: s[k] for k in expected} == expected,
        what=f"analytics to reach the payments ledger {expected}",
    )
    assert Decimal(str(final["total_amount"])) == Decimal(row["total"])
