"""The order saga under fire: kill -9 payments and orders while orders are charged, declined
and cancelled, then the saga's ledger: every order settled, charged exactly as its end says."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from decimal import Decimal

import aiohttp

from chaos.context import Context, Result, platform_for, restart
from chaos.ledger import Findings, eventually, query
from chaos.load import Api, Tally, drive, until_done
from chaos.workload import Workload, check_ledger, setup
from harness.platform import LocalPlatform

# Users whose account is this close to the limit: their orders are declined.
NEAR_LIMIT = 999.50
RETRY_FOR = 60.0  # clients retry through a restart (same Idempotency-Key)


class SagaWork:
    """Orders through the gateway (some by users at the limit, some cancelled at once)."""

    def __init__(self, work: Workload, broke: int) -> None:
        self.work = work
        self.broke = broke  # the first ``broke`` users are at the limit
        self.cancels: Counter[int] = Counter()  # HTTP status of each cancel

    async def make_broke(self) -> None:
        for user in self.work.users[: self.broke]:
            status, body = await self.work.api.call(
                "POST",
                "/payment/transactions",
                user.token,
                json={"amount": NEAR_LIMIT, "description": f"near the limit {uuid.uuid4().hex}"},
                count=False,
            )
            if status != 201:
                raise RuntimeError(f"charging a user near the limit: {status} {body}")
            self.work.charges[body["description"]] = int(body["id"])

    async def order(self, i: int) -> None:
        work = self.work
        user = work.users[i % len(work.users)]
        key = str(uuid.uuid4())
        product = work.products[i % len(work.products)]
        line = {"product_id": product, "quantity": 1 + i % 2}
        status, body = await work.api.call(
            "POST", "/api/orders", user.token, json=line, key=key, retry_for=RETRY_FOR
        )
        if status != 201:
            return
        work.orders[key] = int(body["id"])
        if i % 5 == 4:  # cancelled while its payment runs (or just after)
            status, _ = await work.api.call(
                "POST", f"/api/orders/{body['id']}/cancel", user.token, retry_for=RETRY_FOR
            )
            self.cancels[status] += 1


async def kill_saga(ctx: Context) -> Result:
    """kill -9 payments and orders, in turns, while orders go through the saga."""
    total = ctx.config.scale(1200, 300)
    tally, findings, notes = Tally(), Findings(), []
    async with (
        platform_for(ctx, "kill-saga", ctx.kafka) as platform,
        aiohttp.ClientSession() as s,
    ):
        work = await setup(Api(s, platform.gateway, tally), platform, users=24, products=3)
        saga = SagaWork(work, broke=4)
        await saga.make_broke()

        async def chaos() -> None:
            victims = ["payments", "orders", "payments", "orders"]
            for fraction, victim in zip((0.15, 0.35, 0.55, 0.75), victims, strict=True):
                await until_done(tally, total, fraction)
                took = await restart(platform, victim)
                notes.append(f"kill -9 {victim} after {tally.done} answers; back in {took:.1f} s")

        await asyncio.gather(drive(total, 24, saga.order), chaos())
        await check_ledger(platform, findings, work, bootstrap=ctx.kafka.bootstrap, orders=True)
        await check_saga(platform, findings)
        findings.figures["cancels_answered"] = {str(k): v for k, v in saga.cancels.items()}
    findings.check("every request was sent", tally.sent == total + sum(saga.cancels.values()))
    return Result(
        "kill-saga",
        "kill -9 payments and orders mid-saga (orders charged, declined, cancelled)",
        tally,
        findings,
        notes,
    )


async def check_saga(
    platform: LocalPlatform, findings: Findings, *, timeout: float = 120.0
) -> None:
    """Every order ended Dispatched, Payment declined or Cancelled; a dispatched order has
    exactly one live charge of its total and one shipment that left; a declined or cancelled
    one no live charge, its stock back, and no shipment that left nor webhook."""

    async def settled() -> bool:
        rows = await query(
            platform,
            "orders",
            "SELECT count(*) AS n FROM customer_order WHERE status IN ('Created', 'Paid')",
        )
        pending = await query(
            platform, "dispatcher", "SELECT count(*) AS n FROM shipment WHERE status = 'pending'"
        )
        return int(rows[0]["n"]) == 0 and int(pending[0]["n"]) == 0

    await eventually(settled, timeout=timeout)
    orders = await query(
        platform, "orders", "SELECT id, status, total_cost, reference FROM customer_order"
    )
    charges = await query(
        platform,
        "payments",
        "SELECT order_id, amount, is_voided FROM payment_transaction WHERE order_id IS NOT NULL",
    )
    live: dict[int, list[Decimal]] = {}
    for charge in charges:
        if not charge["is_voided"]:
            live.setdefault(int(charge["order_id"]), []).append(Decimal(charge["amount"]))
    released = {
        str(r["reservation_id"])
        for r in await query(
            platform,
            "products",
            "SELECT reservation_id FROM stock_reservation WHERE status = 'released'",
        )
    }
    shipped = {
        int(r["order_id"])
        for r in await query(
            platform, "dispatcher", "SELECT order_id FROM shipment WHERE status = 'dispatched'"
        )
    }
    hooked = {
        int(r["order_id"])
        for r in await query(platform, "dispatcher", "SELECT order_id FROM webhook_delivery")
    }
    statuses = Counter(str(o["status"]) for o in orders)
    unsettled = [o["id"] for o in orders if o["status"] in ("Created", "Paid")]
    wrong_charge = [
        o["id"]
        for o in orders
        if o["status"] == "Dispatched" and live.get(int(o["id"])) != [Decimal(o["total_cost"])]
    ]
    charged_anyway = [
        o["id"] for o in orders if o["status"] != "Dispatched" and live.get(int(o["id"]))
    ]
    unshipped = [o["id"] for o in orders if o["status"] == "Dispatched" and o["id"] not in shipped]
    shipped_anyway = [
        o["id"]
        for o in orders
        if o["status"] != "Dispatched" and (o["id"] in shipped or o["id"] in hooked)
    ]
    kept_stock = [
        o["id"]
        for o in orders
        if o["status"] != "Dispatched" and str(o["reference"]) not in released
    ]
    findings.figures["saga"] = {
        "orders_by_status": dict(statuses),
        "order_charges": len(charges),
        "order_charges_voided": sum(1 for c in charges if c["is_voided"]),
    }
    findings.check(
        "every order ended Dispatched, Payment declined or Cancelled",
        not unsettled,
        f"{len(unsettled)} still Created or Paid",
    )
    findings.check(
        "every Dispatched order has exactly one live charge of its total",
        not wrong_charge,
        f"{len(wrong_charge)} off",
    )
    findings.check(
        "no declined or cancelled order keeps a live charge",
        not charged_anyway,
        f"{len(charged_anyway)} charged",
    )
    findings.check(
        "every Dispatched order's shipment left",
        not unshipped,
        f"{len(unshipped)} not shipped",
    )
    findings.check(
        "no declined or cancelled order was shipped or announced to a webhook",
        not shipped_anyway,
        f"{len(shipped_anyway)} shipped",
    )
    findings.check(
        "every declined or cancelled order's stock is back",
        not kept_stock,
        f"{len(kept_stock)} still reserved",
    )
    findings.check(
        "the saga saw each ending (dispatched, declined, cancelled)",
        all(statuses[s] for s in ("Dispatched", "Payment declined", "Cancelled")),
        str(dict(statuses)),
    )
