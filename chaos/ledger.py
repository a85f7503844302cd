"""What the ledger checks read: a service's own PostgreSQL database (read only), Kafka's
topics and analytics' ``/stats``; and the findings they record."""

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

from harness.platform import LocalPlatform
from harness.resources import postgres_dsn
from shopmesh.kit.aio import poll

ANALYTICS_GROUP = "analytics"
# The topic analytics reads (payments also announces payment outcomes, for orders).
TOPIC = "transactions"
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
    """What analytics' /stats must show, computed from the payments database itself (a voided
    order charge counts nowhere; its user still counts, as analytics saw them)."""
    rows = await query(
        platform,
        "payments",
        "SELECT count(*) FILTER (WHERE NOT is_voided) AS n, "
        "coalesce(sum(amount) FILTER (WHERE NOT is_voided), 0) AS amount, "
        "count(*) FILTER (WHERE is_paid AND NOT is_voided) AS paid, "
        "count(DISTINCT user_id) AS users FROM payment_transaction",
    )
    events = await query(
        platform, "payments", "SELECT count(*) AS n FROM outbox_message WHERE topic = $1", TOPIC
    )
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


async def outbox_events(
    platform: LocalPlatform,
    service: str,
    event_type: str | None = None,
    *,
    topic: str | None = None,
) -> dict[str, Any]:
    """``event_id`` → (payload, published?) of the service's outbox (one type or topic, or all)."""
    rows = await query(
        platform,
        service,
        "SELECT event_id, payload, published_at IS NOT NULL AS sent FROM outbox_message "
        "WHERE ($1::text IS NULL OR event_type = $1) AND ($2::text IS NULL OR topic = $2)",
        event_type,
        topic,
    )
    return {r["event_id"]: (orjson.loads(r["payload"]), r["sent"]) for r in rows}


async def applied_ids(platform: LocalPlatform, service: str, group: str) -> set[str]:
    rows = await query(
        platform, service, "SELECT event_id FROM processed_event WHERE consumer = $1", group
    )
    return {r["event_id"] for r in rows}
