"""The ledger checks: what the clients were told against what the databases and Kafka hold."""

from __future__ import annotations

from collections import Counter

import orjson

from chaos.ledger import (
    ANALYTICS_GROUP,
    DISPATCHER_GROUP,
    TOPIC,
    Findings,
    analytics_totals,
    applied_ids,
    eventually,
    outbox_events,
    payments_totals,
    query,
    topic_copies,
)
from harness.platform import LocalPlatform


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
        produced = await outbox_events(platform, "payments", topic=TOPIC)
        applied = await applied_ids(platform, "analytics", ANALYTICS_GROUP)
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

    created = await outbox_events(platform, "payments", "transaction.created")
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

    produced = await outbox_events(platform, "payments", topic=TOPIC)
    applied = await applied_ids(platform, "analytics", ANALYTICS_GROUP)
    lost = [e for e in produced if e not in applied]
    copies = await topic_copies(bootstrap, platform.namespace.topic(TOPIC))
    ours = {e: copies.get(e, 0) for e in produced}
    db_totals = await payments_totals(platform)
    stats = await analytics_totals(platform)
    # Events analytics counted beyond the ones payments produced: applied twice.
    double_counted = max(stats["events_processed"] - db_totals["events_processed"], 0)
    findings.figures.update(
        {
            "charges_stored": len(tx_ids),
            "pay_all_and_void_events": len(produced) - len(created),
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
    """Acked orders exist once and each reached a final state; each dispatched one is shipped,
    announced and notified exactly once, and no other order is."""

    async def converged() -> bool:
        orders = await query(
            platform,
            "orders",
            "SELECT count(*) AS n FROM customer_order WHERE status IN ('Created', 'Paid')",
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
        "orders settled (dispatched, declined or cancelled) and notified within the bound",
        settled,
        f"{converge_timeout:.0f} s",
    )

    orders = await query(platform, "orders", "SELECT id, status FROM customer_order")
    order_ids = {int(r["id"]) for r in orders}
    # What must be shipped exactly once: the dispatched orders (none of the others).
    stored_ids = order_ids
    order_ids = {int(r["id"]) for r in orders if r["status"] == "Dispatched"}
    records = await query(platform, "orders", "SELECT key, result FROM idempotency_record")
    by_key = {
        r["key"]: orjson.loads(r["result"]) if isinstance(r["result"], str) else r["result"]
        for r in records
    }
    missing = [k for k, oid in acked.items() if oid not in stored_ids or by_key.get(k) != [oid]]
    owned = Counter(i for ids in by_key.values() for i in ids)
    strays = [i for i in stored_ids if owned.get(i, 0) != 1]
    findings.check(
        "every acknowledged order is stored once", not missing, f"{len(missing)} missing or changed"
    )
    findings.check(
        "no order stored twice (every order belongs to one request)",
        not strays,
        f"{len(strays)} strays",
    )

    shipments = await query(platform, "dispatcher", "SELECT order_id, status FROM shipment")
    shipped = Counter(int(r["order_id"]) for r in shipments if r["status"] == "dispatched")
    dispatched = await outbox_events(platform, "dispatcher", "order.dispatched")
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
            "orders_stored": len(stored_ids),
            "orders_by_status": dict(Counter(str(r["status"]) for r in orders)),
            "shipments": len(shipments),
            "order_dispatched_events": len(dispatched),
            "webhook_deliveries": len(deliveries),
            "webhook_posts_received": len(posts),
            "webhook_reposts_same_event": sum(n - 1 for n in receipts.values() if n > 1),
        }
    )
    findings.check(
        "one dispatched shipment per dispatched order (none for any other)",
        not exactly_once(shipped),
        f"{len(exactly_once(shipped))} off",
    )
    findings.check(
        "one order.dispatched event per dispatched order",
        not exactly_once(announced),
        f"{len(exactly_once(announced))} off",
    )
    findings.check(
        "one webhook delivery per dispatched order",
        not exactly_once(notified),
        f"{len(exactly_once(notified))} off",
    )
    findings.check(
        "each order's notification received (one event id per order)",
        not exactly_once(received),
        f"{len(exactly_once(received))} off",
    )
    applied = await applied_ids(platform, "dispatcher", DISPATCHER_GROUP)
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
        platform,
        "orders",
        "SELECT reference FROM customer_order "
        "WHERE status NOT IN ('Cancelled', 'Payment declined')",
    )
    return {r["reservation_id"] for r in reserved} ^ {str(r["reference"]) for r in orders}
