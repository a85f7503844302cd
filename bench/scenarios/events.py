"""Scenario 3: the event pipeline, payments outbox -> relay -> Kafka -> analytics.

(a) Steady: ``POST /payment/transactions`` at 200/s (open loop). For each
``transaction.created`` event the latency is the analytics consumer's
``processed_event.processed_at`` (written in the transaction that applies
the event) minus the event's ``occurred_at`` (the outbox row's
``created_at``, set just before the payments transaction commits), joined
by ``event_id`` across the two databases. Both clocks are this machine's.

(b) Drain: with payments stopped (so its relay is too), 50,000 transactions
and their outbox rows are written straight into the payments database, as
the service writes them; then payments starts and the backlog flows. The
rate is the count over the time from the first row published to the last
event applied. Afterwards analytics' ``/stats`` must equal the payments
database's own totals.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg

from bench.context import Context, dsn, register_users
from bench.load import open_loop, summary
from bench.measure import latency_summary, spread
from shopmesh.kit.aio import poll
from shopmesh.payments.domain import TransactionCreated

log = logging.getLogger("bench")
STEADY_RATE = 200.0
DRAIN_EVENTS = 50_000
# Synthetic users of the drain: far above any id auth hands out in a run.
DRAIN_USER_BASE = 50_000_000
DRAIN_TIMEOUT = 300.0


async def _ids_applied(analytics_db: str, event_ids: list[str]) -> int:
    connection = await asyncpg.connect(dsn(analytics_db))
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM processed_event WHERE event_id = any($1::text[])", event_ids
            )
        )
    finally:
        await connection.close()


async def _fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn(url))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def _steady(
    ctx: Context, gateway: str, payments_db: str, analytics_db: str
) -> dict[str, Any]:
    async with aiohttp.ClientSession(base_url=gateway) as session:
        users = await register_users(session, 50, prefix="evt")
        headers = [{"Authorization": f"Bearer {u['token']}"} for u in users]
        body = {"amount": 0.01, "description": "steady"}

        async def call(s: aiohttp.ClientSession, i: int) -> int:
            async with s.post("/payment/transactions", json=body, headers=headers[i % 50]) as r:
                await r.read()
                return r.status

        since = datetime.now(UTC)
        http = await open_loop(
            session, call, rate=STEADY_RATE, seconds=ctx.seconds(60, 10), ok=lambda s: s == 201
        )
    rows = await _fetch(
        payments_db,
        "SELECT event_id, created_at FROM outbox_message"
        " WHERE created_at >= $1 AND event_type = 'transaction.created'",
        since,
    )
    created = {row["event_id"]: row["created_at"] for row in rows}
    ids = list(created)
    await poll(
        lambda: _fetch(
            payments_db,
            "SELECT count(*) FROM outbox_message WHERE event_id = any($1) AND published_at IS NULL",
            ids,
        ),
        until=lambda r: r[0][0] == 0,
        timeout=120,
        interval=0.5,
        what="the relay to publish the steady events",
    )
    published = {
        row["event_id"]: row["published_at"]
        for row in await _fetch(
            payments_db,
            "SELECT event_id, published_at FROM outbox_message WHERE event_id = any($1)",
            ids,
        )
    }
    await poll(
        lambda: _ids_applied(analytics_db, ids),
        until=lambda n: n >= len(ids),
        timeout=120,
        interval=0.5,
        what="analytics to apply the steady events",
    )
    applied = await _fetch(
        analytics_db,
        "SELECT event_id, processed_at FROM processed_event WHERE event_id = any($1::text[])",
        ids,
    )
    latencies = [
        (row["processed_at"] - created[row["event_id"]]).total_seconds() for row in applied
    ]
    relayed = [(published[i] - created[i]).total_seconds() for i in ids]
    return {
        "events": len(latencies),
        **latency_summary(latencies),
        **{f"relay_{k}": v for k, v in latency_summary(relayed).items()},
        **{f"http_{k}": v for k, v in summary(http).items()},
    }


async def _write_backlog(payments_db: str, count: int) -> list[str]:
    """``count`` transactions and their outbox rows, as the payments service writes them."""
    now = datetime.now(UTC)
    amount = Decimal("0.01")
    users = [DRAIN_USER_BASE + i % 1000 for i in range(count)]
    connection = await asyncpg.connect(dsn(payments_db))
    try:
        async with connection.transaction():
            ids = await connection.fetch(
                "INSERT INTO payment_transaction"
                " (user_id, amount, description, is_paid, created_at)"
                " SELECT u, $2, 'drain', false, $3 FROM unnest($1::bigint[]) AS u"
                " RETURNING id, user_id",
                users,
                amount,
                now,
            )
            await connection.execute(
                "INSERT INTO account (user_id, total_amount, unpaid_amount)"
                " SELECT u, count(*) * $2, count(*) * $2 FROM unnest($1::bigint[]) AS u GROUP BY u"
                " ON CONFLICT (user_id) DO UPDATE SET"
                " total_amount = account.total_amount + excluded.total_amount,"
                " unpaid_amount = account.unpaid_amount + excluded.unpaid_amount",
                users,
                amount,
            )
            events = [
                TransactionCreated(
                    producer="payments",
                    transaction_id=row["id"],
                    user_id=row["user_id"],
                    amount=amount,
                    description="drain",
                    timestamp=now,
                )
                for row in ids
            ]
            await connection.copy_records_to_table(
                "outbox_message",
                columns=["event_id", "topic", "key", "event_type", "payload", "created_at"],
                records=[
                    (str(e.event_id), e.topic, e.key(), e.event_type, e.to_bytes(), e.occurred_at)
                    for e in events
                ],
            )
    finally:
        await connection.close()
    return [str(e.event_id) for e in events]


async def _drain(ctx: Context, count: int) -> dict[str, Any]:
    platform = await ctx.started_platform()
    payments_db, analytics_db = (
        platform.database_url("payments"),
        platform.database_url("analytics"),
    )
    await asyncio.to_thread(platform.stop_service, "payments")
    ids = await _write_backlog(payments_db, count)
    running = platform.start_service("payments")
    ready = await platform.launcher.wait_ready([running], timeout=60)
    if not all(ready.values()):
        raise RuntimeError("payments did not come back after the backlog was written")
    try:
        await poll(
            lambda: _ids_applied(analytics_db, ids),
            until=lambda n: n >= count,
            timeout=DRAIN_TIMEOUT,
            interval=0.5,
            what="analytics to apply the backlog",
        )
    except TimeoutError:
        # Too slow to finish in time: the rate of what got through is the figure.
        log.warning("drain not finished after %ss; measuring what was applied", DRAIN_TIMEOUT)
    (first,) = await _fetch(
        payments_db, "SELECT min(published_at) FROM outbox_message WHERE event_id = any($1)", ids
    )
    (last,) = await _fetch(
        analytics_db, "SELECT max(processed_at) FROM processed_event WHERE event_id = any($1)", ids
    )
    applied = await _ids_applied(analytics_db, ids)
    seconds = (last[0] - first[0]).total_seconds()
    return {
        "events": count,
        "applied": applied,
        "seconds": round(seconds, 2),
        "events_per_s": round(applied / seconds),
    }


async def _totals_match(gateway_analytics: str, payments_db: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(gateway_analytics) as response:
        stats = await response.json()
    (row,) = await _fetch(
        payments_db,
        "SELECT count(*) AS n, coalesce(sum(amount), 0) AS total,"
        " count(*) FILTER (WHERE is_paid) AS paid FROM payment_transaction",
    )
    database = {
        "total_transactions": int(row["n"]),
        "total_amount": float(row["total"]),
        "total_paid_transactions": int(row["paid"]),
    }
    shown = {key: stats.get(key) for key in database}
    return {"stats": shown, "payments_db": database, "equal": shown == database}


async def run(ctx: Context) -> dict[str, Any]:
    platform = await ctx.started_platform()
    payments_db, analytics_db = (
        platform.database_url("payments"),
        platform.database_url("analytics"),
    )
    steady_runs, drain_runs = [], []
    for _ in range(ctx.repeats):
        steady_runs.append(await _steady(ctx, platform.gateway, payments_db, analytics_db))
        log.info("events scenario: steady %s", steady_runs[-1])
    count = 5_000 if ctx.quick else DRAIN_EVENTS
    for _ in range(ctx.repeats):
        drain_runs.append(await _drain(ctx, count))
        log.info("events scenario: drain %s", drain_runs[-1])
    stats_url = platform.urls["analytics"] + "/stats"
    try:
        totals = await poll(
            lambda: _totals_match(stats_url, payments_db),
            until=lambda t: bool(t["equal"]),
            timeout=DRAIN_TIMEOUT,
            interval=0.5,
            what="analytics /stats to equal the payments database",
        )
    except TimeoutError:
        totals = await _totals_match(stats_url, payments_db)
    steady, drain = spread(steady_runs), spread(drain_runs)
    p99, rate = steady["p99_ms"]["median"], drain["events_per_s"]["median"]
    return {
        "title": f"Event pipeline: steady {STEADY_RATE:.0f} tx/s, then a {count}-event backlog",
        "figures": {"steady commit→applied": steady, "drain": drain},
        "derived": {"final_stats": totals["stats"], "payments_db": totals["payments_db"]},
        "targets": [
            {"name": "steady: commit→applied p99 ≤ 100 ms", "value": p99, "met": p99 <= 100},
            {"name": "drain ≥ 5,000 events/s", "value": rate, "met": rate >= 5000},
            {
                "name": "final /stats = payments DB totals",
                "value": "equal"
                if totals["equal"]
                else f"{totals['stats']} ≠ {totals['payments_db']}",
                "met": totals["equal"],
            },
        ],
        "runs": {"steady": steady_runs, "drain": drain_runs},
    }
