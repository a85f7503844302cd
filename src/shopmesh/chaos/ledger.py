"""The ledger checks: what the clients were told against what the databases and Kafka hold.

Every query goes straight to a service's own PostgreSQL database (read only);
``/stats`` is read from the analytics process itself.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shopmesh.kit.aio import poll
from shopmesh.platform import LocalPlatform, postgres_dsn

ANALYTICS_GROUP = "analytics"
DISPATCHER_GROUP = "dispatcher"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Findings:
    """Figures for the report and the checks that decide PASS or FAIL."""

    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(name, ok, detail))

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)


async def query(
    platform: LocalPlatform, service: str, sql: str, *args: Any
) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(postgres_dsn(platform.database_urls[service]), timeout=10)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def eventually(
    probe: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.5
) -> bool:
    """Poll ``probe`` until it holds or ``timeout`` passes; errors count as not yet."""

    async def holds() -> bool:
        try:
            return await probe()
        except (OSError, asyncpg.PostgresError, aiohttp.ClientError, TimeoutError):
            return False

    try:
        await poll(holds, timeout=timeout, interval=interval)
    except TimeoutError:
        return False
    return True


async def topic_copies(bootstrap: str, topic: str) -> Counter[str]:
    """How many times each ``event_id`` is on ``topic`` (redeliveries show as > 1)."""
    partitions = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
    copies: Counter[str] = Counter()
    if not partitions:
        return copies
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + 60
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end")
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    copies[str(orjson.loads(record.value or b"{}").get("event_id"))] += 1
    finally:
        await consumer.stop()
    return copies


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(int(p["partition"]) for d in described for p in d.get("partitions", ()))


# ---------------------------------------------------------------- payments + analytics


async def payments_totals(platform: LocalPlatform) -> dict[str, Any]:
    """What analytics' /stats must show, computed from the payments database itself."""
    rows = await query(
        platform,
        "payments",
        "SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount, "
        "count(*) FILTER (WHERE is_paid) AS paid, count(DISTINCT user_id) AS users "
        "FROM payment_transaction",
    )
    events = await query(platform, "payments", "SELECT count(*) AS n FROM outbox_message")
    row = rows[0]
    return {
        "total_transactions": int(row["n"]),
        "total_amount": Decimal(row["amount"]).quantize(Decimal("0.01")),
        "total_paid_transactions": int(row["paid"]),
        "unique_users": int(row["users"]),
        "events_processed": int(events[0]["n"]),
    }


async def analytics_totals(platform: LocalPlatform) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            platform.urls["analytics"] + "/stats", timeout=aiohttp.ClientTimeout(total=5)
        ) as response,
    ):
        body = await response.json()
    return {
        "total_transactions": int(body["total_transactions"]),
        "total_amount": Decimal(str(body["total_amount"])).quantize(Decimal("0.01")),
        "total_paid_transactions": int(body["total_paid_transactions"]),
        "unique_users": int(body["unique_users"]),
        "events_processed": int(body["events_processed"]),
    }


async def _outbox_events(
    platform: LocalPlatform, service: str, event_type: str | None = None
) -> dict[str, Any]:
    """``event_id`` → (payload, published?) of the service's outbox (one type, or all)."""
    rows = await query(
        platform,
        service,
        "SELECT event_id, payload, published_at IS NOT NULL AS sent FROM outbox_message "
        "WHERE $1::text IS NULL OR event_type = $1",
        event_type,
    )
    return {r["event_id"]: (orjson.loads(r["payload"]), r["sent"]) for r in rows}


async def _applied(platform: LocalPlatform, service: str, group: str) -> set[str]:
    rows = await query(
        platform, service, "SELECT event_id FROM processed_event WHERE consumer = $1", group
    )
    return {r["event_id"] for r in rows}


async def check_payments(
    platform: LocalPlatform,
    findings: Findings,
    *,
    acked: dict[str, int],
    bootstrap: str,
    converge_timeout: float = 120.0,
) -> None:
    """Acked charges exist once; every event reached analytics once; /stats equals the DB."""

    async def converged() -> bool:
        produced = await _outbox_events(platform, "payments")
        applied = await _applied(platform, "analytics", ANALYTICS_GROUP)
        if not all(sent for _, sent in produced.values()) or not produced.keys() <= applied:
            return False
        return await payments_totals(platform) == await analytics_totals(platform)

    settled = await eventually(converged, timeout=converge_timeout)
    findings.check("analytics converged within the bound", settled, f"{converge_timeout:.0f} s")

    rows = await query(
        platform,
        "payments",
        "SELECT description, count(*) AS n, min(id) AS id FROM payment_transaction "
        "GROUP BY description",
    )
    stored = {r["description"]: int(r["n"]) for r in rows}
    missing = [d for d in acked if stored.get(d, 0) == 0]
    doubled = [d for d, n in stored.items() if n > 1]
    wrong_id = [
        d
        for d, i in acked.items()
        if d in stored and {r["id"] for r in rows if r["description"] == d} != {i}
    ]
    findings.check("every acknowledged charge is stored", not missing, f"{len(missing)} missing")
    findings.check("no charge is stored twice", not doubled, f"{len(doubled)} duplicated")
    findings.check("stored ids are the acknowledged ids", not wrong_id, f"{len(wrong_id)} differ")

    created = await _outbox_events(platform, "payments", "transaction.created")
    per_tx = Counter(payload["transaction_id"] for payload, _ in created.values())
    tx_ids = {
        int(r["id"])
        for r in await query(platform, "payments", "SELECT id FROM payment_transaction")
    }
    half = [t for t in tx_ids if per_tx.get(t, 0) != 1] + [t for t in per_tx if t not in tx_ids]
    findings.check(
        "each charge has exactly one transaction.created event (nothing half-written)",
        not half,
        f"{len(half)} charges without exactly one event",
    )
    pending_keys = await query(
        platform, "payments", "SELECT count(*) AS n FROM idempotency_record WHERE result IS NULL"
    )
    findings.check(
        "no idempotency key left claimed without its answer",
        int(pending_keys[0]["n"]) == 0,
        f"{int(pending_keys[0]['n'])} dangling",
    )

    produced = await _outbox_events(platform, "payments")
    applied = await _applied(platform, "analytics", ANALYTICS_GROUP)
    lost = [e for e in produced if e not in applied]
    copies = await topic_copies(bootstrap, "transactions")
    ours = {e: copies.get(e, 0) for e in produced}
    db_totals = await payments_totals(platform)
    stats = await analytics_totals(platform)
    # Events analytics counted beyond the ones payments produced: applied twice.
    double_counted = max(stats["events_processed"] - db_totals["events_processed"], 0)
    findings.figures.update(
        {
            "charges_stored": len(tx_ids),
            "pay_all_events": len(produced) - len(created),
            "events_produced": len(produced),
            "events_published": sum(1 for _, sent in produced.values() if sent),
            "events_on_kafka": sum(1 for n in ours.values() if n),
            "events_redelivered": sum(n - 1 for n in ours.values() if n > 1),
            "events_applied": len(applied & produced.keys()),
            "events_lost": len(lost),
            "events_double_counted": double_counted,
            "payments_db": {k: str(v) for k, v in db_totals.items()},
            "analytics_stats": {k: str(v) for k, v in stats.items()},
        }
    )
    findings.check("no event lost (produced ⇒ applied by analytics)", not lost, f"{len(lost)} lost")
    findings.check(
        "/stats equals the payments database",
        stats == db_totals,
        f"stats {stats} vs db {db_totals}",
    )


# ---------------------------------------------------------------- orders + dispatcher


async def check_orders(
    platform: LocalPlatform,
    findings: Findings,
    *,
    acked: dict[str, int],
    converge_timeout: float = 120.0,
) -> None:
    """Acked orders exist once; each is shipped, announced and notified exactly once."""

    async def converged() -> bool:
        orders = await query(
            platform,
            "orders",
            "SELECT count(*) AS n FROM customer_order WHERE status <> 'Dispatched'",
        )
        pending = await query(
            platform,
            "dispatcher",
            "SELECT count(*) AS n FROM webhook_delivery WHERE status <> 'delivered'",
        )
        unsent = await query(
            platform,
            "dispatcher",
            "SELECT count(*) AS n FROM outbox_message WHERE published_at IS NULL",
        )
        return int(orders[0]["n"]) == 0 and int(pending[0]["n"]) == 0 and int(unsent[0]["n"]) == 0

    settled = await eventually(converged, timeout=converge_timeout)
    findings.check(
        "orders dispatched and notified within the bound", settled, f"{converge_timeout:.0f} s"
    )

    orders = await query(platform, "orders", "SELECT id, status FROM customer_order")
    order_ids = {int(r["id"]) for r in orders}
    records = await query(platform, "orders", "SELECT key, order_ids FROM idempotency_record")
    by_key = {
        r["key"]: orjson.loads(r["order_ids"])
        if isinstance(r["order_ids"], str)
        else r["order_ids"]
        for r in records
    }
    missing = [k for k, oid in acked.items() if oid not in order_ids or by_key.get(k) != [oid]]
    owned = Counter(i for ids in by_key.values() for i in ids)
    strays = [i for i in order_ids if owned.get(i, 0) != 1]
    findings.check(
        "every acknowledged order is stored once", not missing, f"{len(missing)} missing or changed"
    )
    findings.check(
        "no order stored twice (every order belongs to one request)",
        not strays,
        f"{len(strays)} strays",
    )

    shipments = await query(platform, "dispatcher", "SELECT order_id, status FROM shipment")
    shipped = Counter(int(r["order_id"]) for r in shipments)
    dispatched = await _outbox_events(platform, "dispatcher", "order.dispatched")
    announced = Counter(int(payload["id"]) for payload, _ in dispatched.values())
    deliveries = await query(platform, "dispatcher", "SELECT order_id FROM webhook_delivery")
    notified = Counter(int(r["order_id"]) for r in deliveries)
    received: Counter[int] = Counter()
    receipts: Counter[str] = Counter()
    posts = platform.webhooks.received if platform.webhooks else []
    for hit in posts:
        body = orjson.loads(hit["body"])
        receipts[str(body.get("event_id"))] += 1
        if receipts[str(body.get("event_id"))] == 1:
            received[int(body["id"])] += 1

    def exactly_once(counter: Counter[int]) -> list[int]:
        return [o for o in order_ids if counter.get(o, 0) != 1] + [
            o for o in counter if o not in order_ids
        ]

    findings.figures.update(
        {
            "orders_stored": len(order_ids),
            "orders_dispatched": sum(1 for r in orders if r["status"] == "Dispatched"),
            "shipments": len(shipments),
            "order_dispatched_events": len(dispatched),
            "webhook_deliveries": len(deliveries),
            "webhook_posts_received": len(posts),
            "webhook_reposts_same_event": sum(n - 1 for n in receipts.values() if n > 1),
        }
    )
    findings.check(
        "one shipment per order", not exactly_once(shipped), f"{len(exactly_once(shipped))} off"
    )
    findings.check(
        "one order.dispatched event per order",
        not exactly_once(announced),
        f"{len(exactly_once(announced))} off",
    )
    findings.check(
        "one webhook delivery per order",
        not exactly_once(notified),
        f"{len(exactly_once(notified))} off",
    )
    findings.check(
        "each order's notification received (one event id per order)",
        not exactly_once(received),
        f"{len(exactly_once(received))} off",
    )
    applied = await _applied(platform, "dispatcher", DISPATCHER_GROUP)
    findings.figures["order_events_applied_by_dispatcher"] = len(applied)
    await _check_reservations(platform, findings)


async def _check_reservations(platform: LocalPlatform, findings: Findings) -> None:
    """Stock is held exactly for the orders that exist: none reserved for an order never made."""

    async def settled() -> bool:
        return not await _reservation_drift(platform)

    # A release products could not take during an outage is retried in the background.
    await eventually(settled, timeout=60)
    drift = await _reservation_drift(platform)
    findings.check(
        "stock reserved exactly for the stored orders (no reservation leaked)",
        not drift,
        f"{len(drift)} reservations without their order or orders without theirs",
    )


async def _reservation_drift(platform: LocalPlatform) -> set[str]:
    reserved = await query(
        platform,
        "products",
        "SELECT reservation_id FROM stock_reservation WHERE status = 'reserved'",
    )
    orders = await query(
        platform, "orders", "SELECT reference FROM customer_order WHERE status <> 'Cancelled'"
    )
    return {r["reservation_id"] for r in reserved} ^ {str(r["reference"]) for r in orders}
