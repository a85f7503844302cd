"""Schemathesis against every service's OpenAPI document, through the gateway.

Each service's own document drives the requests; they go to the gateway with
an admin token (the widest access, so validation is reached behind every
policy). Checks: no 5xx, and every documented response matches its schema.
The examples per operation and the seed are fixed, so a run is repeatable.

The services are fuzzed side by side (each fuzzer mostly waits on the platform's answers):
one run for the module, each test reads its service's report. Each fuzzer's requests carry
an X-Forwarded-For address of its own: the login limit one trips is that address's, not
another fuzzer's nor the one the other tests log in from.
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

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.kafka,
    # All seven fuzzers run in the first test's set-up: the bound that held one service's
    # fuzzing (300 s) holds the module's, with room for a busy machine.
    pytest.mark.timeout(900),
]

SERVICES = ("auth", "payments", "analytics", "customers", "products", "orders", "dispatcher")
# The gateway answers these itself (or does not route them); the order stream never ends.
NOT_ROUTED = r"^/(health|ready|stats)$|/stream$"
EXAMPLES_PER_OPERATION = 10
FUZZERS_AT_ONCE = 3  # enough to keep two cores busy while each waits on answers
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


async def _fuzz(platform: Platform, admin_token: str, service: str, directory: Path) -> Fuzzed:
    """Fuzz ``service`` through the gateway: the fuzzer's exit code and report."""
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
        f"X-Forwarded-For: 192.0.2.{70 + SERVICES.index(service)}",
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
    return fuzzer.returncode, output.decode(errors="replace")


Fuzzed = tuple[int | None, str]


@pytest.fixture(scope="module")
async def fuzzed(
    platform: Platform, admin_token: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Fuzzed]:
    """Every service fuzzed, a few at once; each one's exit code and report, by service."""
    slots = asyncio.Semaphore(FUZZERS_AT_ONCE)

    async def one(service: str) -> Fuzzed:
        async with slots:
            return await _fuzz(platform, admin_token, service, tmp_path_factory.mktemp(service))

    reports = await asyncio.gather(*(one(service) for service in SERVICES))
    return dict(zip(SERVICES, reports, strict=True))


def _assert_clean(fuzzed: dict[str, Fuzzed], service: str) -> None:
    """Fail with the fuzzer's report if a check broke."""
    returncode, report = fuzzed[service]
    assert returncode == 0, report[-8000:]
    assert "generated" in report  # it did send requests


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "payments"])
def test_fuzzing_through_the_gateway_finds_no_server_error_and_no_schema_break(
    fuzzed: dict[str, Fuzzed], service: str
) -> None:
    _assert_clean(fuzzed, service)


async def _ledger(platform: Platform) -> asyncpg.Record:
    """Payments' own count, paid count and total of the transactions that still count."""
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
    return row


async def test_fuzzing_payments_breaks_nothing_and_analytics_still_equals_its_ledger(
    platform: Platform, fuzzed: dict[str, Fuzzed], http: aiohttp.ClientSession
) -> None:
    _assert_clean(fuzzed, "payments")
    # Whatever the fuzzers created (orders' charges too), the events all arrived once: the
    # totals agree. Both sides are read again until they do: an order charge the orders
    # fuzzer caused may still be on its way through the saga.

    async def ledger_and_stats() -> tuple[asyncpg.Record, dict]:
        return await _ledger(platform), await stats(http)

    def agree(pair: tuple[asyncpg.Record, dict]) -> bool:
        row, counted = pair
        return (counted["total_transactions"], counted["total_paid_transactions"]) == (
            row["n"],
            row["paid"],
        )

    row, final = await wait_for(
        ledger_and_stats, until=agree, what="analytics to reach the payments ledger"
    )
    assert row["n"] > 0  # the fuzzer made charges: there is a ledger to agree with
    assert Decimal(str(final["total_amount"])) == Decimal(row["total"])
