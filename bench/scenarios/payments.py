"""Scenario 2: the payments write path through the gateway, on PostgreSQL, events flowing.

wrk keeps 64 requests in flight (64 concurrent clients), each
``POST /payment/transactions`` of 0.01 as one of 200 users in turn (the
1000-per-user limit is never near). Created transactions are counted in the
payments database, not taken from wrk, so only 201s count.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
import asyncpg

from bench.context import Context, dsn, register_users
from bench.load import wrk
from bench.measure import spread

log = logging.getLogger("bench")
USERS = 200
CONNECTIONS = 64


async def count_transactions(database_url: str) -> int:
    connection = await asyncpg.connect(dsn(database_url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM payment_transaction"))
    finally:
        await connection.close()


async def run(ctx: Context) -> dict[str, Any]:
    platform = await ctx.started_platform()
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        users = await register_users(session, USERS, prefix="pay")
    tokens = ctx.raw_dir / "payments-tokens.txt"
    tokens.write_text("".join(f"{user['token']}\n" for user in users))
    payments_db = platform.database_url("payments")
    seconds = ctx.seconds(20, 5)
    runs = []
    try:
        for _ in range(ctx.repeats):
            before = await count_transactions(payments_db)
            started = time.monotonic()
            result = wrk(
                f"{platform.gateway}/payment/transactions",
                seconds=seconds,
                connections=CONNECTIONS,
                script="payments.lua",
                env={"BENCH_TOKENS": str(tokens)},
                raw_log=ctx.raw_dir / "payments-wrk.txt",
            )
            elapsed = time.monotonic() - started
            created = await count_transactions(payments_db) - before
            figures = {**result.figures(), "created": created, "created_per_s": created / elapsed}
            runs.append(figures)
            log.info("payments scenario: %s", figures)
    finally:
        tokens.unlink(missing_ok=True)  # tokens are credentials: not left in the results
    summary = spread(runs)
    rate, p99 = summary["created_per_s"]["median"], summary["p99_ms"]["median"]
    return {
        "title": f"POST /payment/transactions through the gateway, {CONNECTIONS} clients, "
        f"{USERS} users",
        "figures": {"payments": summary},
        "targets": [
            {"name": "created tx/s ≥ 600", "value": rate, "met": rate >= 600},
            {"name": "p99 ≤ 100 ms", "value": p99, "met": p99 <= 100},
        ],
        "runs": runs,
    }
