"""The limit and idempotency hold under concurrent requests, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from httpx import Response

from .support import ALICE, Payments, running


async def _stored_total(payments: Payments) -> Decimal:
    [(total,)] = await payments.rows("SELECT sum(amount) FROM payment_transaction")
    return Decimal(str(total)).quantize(Decimal("0.01"))


async def test_fifty_concurrent_charges_never_pass_the_limit(database_url: str) -> None:
    async with running(database_url, database_pool_size=30) as payments:
        responses = await asyncio.gather(*(payments.create(ALICE, 50) for _ in range(50)))
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 20, 422: 30}
        refusals = {r.json()["code"] for r in responses if r.status_code == 422}
        assert refusals == {"limit_exceeded"}
        assert await _stored_total(payments) == Decimal("1000.00")
        [(total,)] = await payments.rows("SELECT total_amount FROM account")
        assert Decimal(str(total)) == Decimal("1000.00")
        counts = await payments.counts()
        assert counts["payment_transaction"] == counts["outbox_message"] == 20


async def test_concurrent_retries_with_one_key_create_one_transaction(database_url: str) -> None:
    async with running(database_url, database_pool_size=30) as payments:
        # 600 twice would pass the limit: a second charge would show as limit_exceeded.
        responses = await asyncio.gather(
            *(payments.create(ALICE, 600, key="same", description="x") for _ in range(20))
        )
        assert {r.status_code for r in responses} == {201}
        assert len({r.text for r in responses}) == 1
        counts = await payments.counts()
        assert counts["payment_transaction"] == 1
        assert counts["outbox_message"] == 1


async def test_unpaid_balance_stays_exact_with_concurrent_charges_and_payments(
    database_url: str,
) -> None:
    async with running(database_url, database_pool_size=30, limit_scope="unpaid") as payments:
        charging = asyncio.gather(*(_charge_repeatedly(payments, times=10) for _ in range(10)))
        paid = 0
        while not charging.done():
            paid += (await payments.pay(ALICE)).json()["transactions_paid"]
        statuses = {r.status_code for batch in await charging for r in batch}
        assert statuses <= {201, 422}
        assert paid > 0
        [(unpaid,)] = await payments.rows("SELECT unpaid_amount FROM account")
        [(owed,)] = await payments.rows(
            "SELECT coalesce(sum(amount), 0) FROM payment_transaction WHERE NOT is_paid"
        )
        assert Decimal(str(unpaid)) == Decimal(str(owed)).quantize(Decimal("0.01"))
        assert Decimal(str(unpaid)) <= Decimal("1000.00")


async def _charge_repeatedly(payments: Payments, *, times: int) -> list[Response]:
    return [await payments.create(ALICE, 30) for _ in range(times)]
