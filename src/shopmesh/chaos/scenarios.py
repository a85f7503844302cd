"""The fault scenarios: each starts a platform, drives load, injects a fault, checks the ledger."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from shopmesh.chaos.infra import Kafka, Postgres, kafka_cluster
from shopmesh.chaos.ledger import Findings, check_orders, check_payments, eventually, query
from shopmesh.chaos.load import (
    Api,
    Tally,
    User,
    add_products,
    drive,
    login,
    register_users,
    until_done,
    wait_for_profiles,
)
from shopmesh.launcher import SERVICES
from shopmesh.platform import LocalPlatform, running_platform, webhook_receiver

# Every service but the UI's static server.
CORE_SERVICES = tuple(s for s in SERVICES if s.name != "web")
CHAOS_ENV = {
    # The load is one client and a few users: the gateway's rate limits are not under test.
    "GATEWAY_RATE_LIMIT_IP": "100000/second",
    "GATEWAY_RATE_LIMIT_USER": "100000/second",
    "GATEWAY_RATE_LIMIT_REGISTER": "100000/hour",
    "DISPATCHER_HANDLING_DELAY": "0.3",
    # Stock of an order never recorded (its process killed) comes back within the ledger's wait.
    "ORDERS_RESERVATION_GRACE": "20",
    "ORDERS_REAPER_INTERVAL": "1",
    "SHOPMESH_LOG_LEVEL": "WARNING",
}


@dataclass
class Config:
    root: Path  # .data/chaos
    quick: bool
    seed: int

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass
class Context:
    config: Config
    postgres: Postgres
    kafka: Kafka
    rng: random.Random


@dataclass
class Result:
    name: str
    title: str
    tally: Tally
    findings: Findings
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.findings.passed


@asynccontextmanager
async def platform_for(
    ctx: Context, name: str, kafka: Kafka, *, extra_env: dict[str, str] | None = None
) -> AsyncIterator[LocalPlatform]:
    state = ctx.config.root / "runs" / name
    shutil.rmtree(state, ignore_errors=True)
    env = {**CHAOS_ENV, "SHOPMESH_KAFKA_REPLICATION": str(kafka.replication), **(extra_env or {})}
    async with (
        webhook_receiver(fail_first=0) as hooks,
        running_platform(
            admin_url=ctx.postgres.admin_url,
            kafka_bootstrap=kafka.bootstrap,
            state_dir=state,
            webhooks=hooks,
            services=CORE_SERVICES,
            extra_env=env,
            prefix=f"chaos_{name.replace('-', '_')}",
        ) as platform,
    ):
        yield platform


async def restart(platform: LocalPlatform, key: str, *, hard: bool = True) -> float:
    """Stop ``key`` (kill -9 when ``hard``), start it again, wait until ready; seconds it took."""
    started = time.monotonic()
    spec = platform.running[key].spec
    await asyncio.to_thread(platform.launcher.stop, spec, hard=hard)
    running = platform.restart(key)
    ready = await platform.launcher.wait_ready([running], timeout=90)
    if not all(ready.values()):
        raise RuntimeError(f"{key} did not come back after a restart")
    return time.monotonic() - started


class Workload:
    """Charges (and optionally orders) through the gateway, remembering what was acknowledged."""

    def __init__(self, api: Api, users: list[User], products: list[int] | None = None) -> None:
        self.api = api
        self.users = users
        self.products = products or []
        self.charges: dict[str, int] = {}  # description -> transaction id
        self.orders: dict[str, int] = {}  # idempotency key -> order id
        self.pays: list[int] = []  # transactions_paid of each acknowledged pay-all
        self.run = uuid.uuid4().hex[:6]

    async def charge(self, i: int, *, retry_for: float = 0.0) -> None:
        user = self.users[i % len(self.users)]
        description = f"chaos-{self.run}-{i}"
        amount = 1 + (i % 7) * 0.25
        status, body = await self.api.call(
            "POST",
            "/payment/transactions",
            user.token,
            json={"amount": amount, "description": description},
            key=str(uuid.uuid4()),
            retry_for=retry_for,
        )
        if status == 201:
            self.charges[description] = int(body["id"])

    async def pay(self, i: int, *, retry_for: float = 0.0) -> None:
        """Pay-all for one user (a ``transaction.paid`` event when something was unpaid)."""
        # i // 7: pay-alls come at fixed strides of i; this spreads them over the users.
        user = self.users[(i // 7) % len(self.users)]
        status, body = await self.api.call(
            "POST",
            "/payment/transactions/pay",
            user.token,
            key=str(uuid.uuid4()),
            retry_for=retry_for,
        )
        if status == 200:
            self.pays.append(int(body["transactions_paid"]))

    async def charge_or_pay(self, i: int, *, retry_for: float = 0.0) -> None:
        """Charges, every 40th request a pay-all."""
        if i % 40 == 39:
            await self.pay(i, retry_for=retry_for)
        else:
            await self.charge(i, retry_for=retry_for)

    async def order(self, i: int) -> None:
        user = self.users[i % len(self.users)]
        key = str(uuid.uuid4())
        product = self.products[i % len(self.products)]
        status, body = await self.api.call(
            "POST", "/api/orders", user.token, json={"product_id": product, "quantity": 1}, key=key
        )
        if status == 201:
            self.orders[key] = int(body["id"])

    async def read(self, i: int) -> None:
        user = self.users[i % len(self.users)]
        path = "/payment/transactions/list?limit=5" if i % 2 else "/api/orders?limit=5"
        await self.api.call("GET", path, user.token)

    async def mixed(self, i: int) -> None:
        """Charges, orders and reads in turn (orders only when there are products)."""
        kind = i % 4
        if i % 40 == 39:
            await self.pay(i)
        elif kind == 0 or (kind == 1 and not self.products):
            await self.charge(i)
        elif kind == 1:
            await self.order(i)
        else:
            await self.read(i)


async def check_ledger(
    platform: LocalPlatform,
    findings: Findings,
    work: Workload,
    *,
    bootstrap: str,
    orders: bool = False,
) -> None:
    """The payments (and orders) ledger of what ``work`` was told."""
    await check_payments(platform, findings, acked=work.charges, bootstrap=bootstrap)
    findings.figures["pay_alls_acked"] = len(work.pays)
    if orders:
        await check_orders(platform, findings, acked=work.orders)


async def setup(api: Api, platform: LocalPlatform, *, users: int, products: int) -> Workload:
    people = await register_users(api, users, run=uuid.uuid4().hex[:6])
    items: list[int] = []
    if products:
        admin = await login(api, *platform.admin)
        items = await add_products(api, admin, products)
        await wait_for_profiles(api, people)
    return Workload(api, people, items)


async def for_a_while(
    request: Callable[[int], Awaitable[None]], concurrency: int, stop: asyncio.Event
) -> None:
    """Send requests until ``stop`` is set."""
    counter = iter(range(10**9))

    async def worker() -> None:
        for i in counter:
            if stop.is_set():
                return
            await request(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def seconds_of_load(tally: Tally, seconds: float) -> None:
    """Let load run for ``seconds`` (the load is the point of the wait, not a condition)."""
    await asyncio.sleep(seconds)


# ---------------------------------------------------------------- 1. kill -9 payments


async def kill_payments(ctx: Context) -> Result:
    """kill -9 payments (API and relay) three times during concurrent charges."""
    total = ctx.config.scale(2000, 400)
    tally, findings, notes = Tally(), Findings(), []
    async with (
        platform_for(ctx, "kill-payments", ctx.kafka) as platform,
        aiohttp.ClientSession() as s,
    ):
        work = await setup(Api(s, platform.gateway, tally), platform, users=40, products=0)

        async def chaos() -> None:
            for fraction in sorted(ctx.rng.uniform(0.1, 0.85) for _ in range(3)):
                await until_done(tally, total, fraction)
                answered = tally.done
                took = await restart(platform, "payments")
                notes.append(
                    f"kill -9 payments after {answered} answers; ready again in {took:.1f} s"
                )

        async def charge(i: int) -> None:
            # Clients retry (same Idempotency-Key) through a restart: the load spans all kills,
            # and a retry of a charge whose answer was lost must not charge twice.
            await work.charge_or_pay(i, retry_for=60.0)

        await asyncio.gather(drive(total, 48, charge), chaos())
        await check_ledger(platform, findings, work, bootstrap=ctx.kafka.bootstrap)
        findings.figures["transactions_paid_acked"] = sum(work.pays)
    findings.check("every request was sent", tally.sent == total, f"{tally.sent}/{total}")
    return Result(
        "kill-payments", "kill -9 payments 3 times under 2,000 charges", tally, findings, notes
    )


# ---------------------------------------------------------------- 2. Kafka away for 30 s


async def kafka_outage(ctx: Context) -> Result:
    """Stop the broker for 30 s under load: the APIs keep answering, the outbox catches up."""
    outage = 10.0 if ctx.config.quick else 30.0
    tally, findings, notes = Tally(), Findings(), []
    async with (
        platform_for(ctx, "kafka-outage", ctx.kafka) as platform,
        aiohttp.ClientSession() as s,
    ):
        work = await setup(Api(s, platform.gateway, tally), platform, users=40, products=0)
        stop = asyncio.Event()

        async def chaos() -> None:
            await seconds_of_load(tally, 3)
            await asyncio.to_thread(ctx.kafka.stop)
            notes.append(f"Kafka stopped after {tally.done} answers, for {outage:.0f} s")
            await asyncio.sleep(outage)  # the outage itself
            acked_during = tally.acked
            await asyncio.to_thread(ctx.kafka.start)
            notes.append(f"Kafka back after {tally.done} answers ({acked_during} acked so far)")
            await seconds_of_load(tally, 5)
            stop.set()

        await asyncio.gather(for_a_while(work.charge_or_pay, 16, stop), chaos())
        await check_ledger(platform, findings, work, bootstrap=ctx.kafka.bootstrap)
    findings.check(
        "no request failed while Kafka was away", not tally.failed, str(dict(tally.failed))
    )
    return Result(
        "kafka-outage", f"Kafka stopped {outage:.0f} s under load", tally, findings, notes
    )


# ---------------------------------------------------------------- 3. one broker of three lost


async def broker_loss(ctx: Context) -> Result:
    """A three-node cluster (RF 3, min ISR 2): kill -9 one broker under load."""
    cluster = kafka_cluster(ctx.config.root)
    tally, findings, notes = Tally(), Findings(), []
    for node in cluster.nodes:
        shutil.rmtree(node.state_dir, ignore_errors=True)
    starting = asyncio.ensure_future(asyncio.to_thread(cluster.start))
    try:
        await asyncio.shield(starting)
        async with (
            platform_for(ctx, "broker-loss", cluster) as platform,
            aiohttp.ClientSession() as s,
        ):
            work = await setup(Api(s, platform.gateway, tally), platform, users=40, products=0)
            stop = asyncio.Event()

            async def chaos() -> None:
                await seconds_of_load(tally, 4)
                victim = ctx.rng.choice(cluster.nodes)
                await asyncio.to_thread(victim.crash)
                notes.append(f"kill -9 broker {victim.node_id} after {tally.done} answers")
                await seconds_of_load(tally, 8 if ctx.config.quick else 20)
                await asyncio.to_thread(victim.start)
                notes.append(f"broker {victim.node_id} restarted after {tally.done} answers")
                await seconds_of_load(tally, 3)
                stop.set()

            await asyncio.gather(for_a_while(work.charge_or_pay, 16, stop), chaos())
            await check_ledger(platform, findings, work, bootstrap=cluster.bootstrap)
    finally:
        # Interrupted while starting: let the start finish, so the stop finds every broker.
        await asyncio.gather(starting, return_exceptions=True)
        await asyncio.to_thread(cluster.stop)
    findings.check("no request failed", not tally.failed, str(dict(tally.failed)))
    return Result(
        "broker-loss", "kill -9 one broker of three (RF 3, min ISR 2)", tally, findings, notes
    )


# ---------------------------------------------------------------- 4. consumers killed mid-batch


async def backlog(platform: LocalPlatform) -> str:
    """How far behind the consumers are: they were killed with work in hand, or not."""
    produced = await query(platform, "payments", "SELECT count(*) AS n FROM outbox_message")
    applied = await query(platform, "analytics", "SELECT count(*) AS n FROM processed_event")
    pending = await query(
        platform, "dispatcher", "SELECT count(*) AS n FROM shipment WHERE status = 'pending'"
    )
    unnotified = await query(
        platform,
        "dispatcher",
        "SELECT count(*) AS n FROM webhook_delivery WHERE status <> 'delivered'",
    )
    return (
        f"analytics {int(produced[0]['n']) - int(applied[0]['n'])} events behind, "
        f"dispatcher {int(pending[0]['n'])} shipments pending and "
        f"{int(unnotified[0]['n'])} webhooks not yet delivered"
    )


async def kill_consumers(ctx: Context) -> Result:
    """kill -9 analytics and the dispatcher while they apply batches; nothing counted twice."""
    total = ctx.config.scale(1600, 400)
    tally, findings, notes = Tally(), Findings(), []
    async with (
        platform_for(ctx, "kill-consumers", ctx.kafka) as platform,
        aiohttp.ClientSession() as s,
    ):
        work = await setup(Api(s, platform.gateway, tally), platform, users=20, products=3)

        async def request(i: int) -> None:
            if i % 3 == 0:
                await work.order(i)
            elif i % 30 == 29:
                await work.pay(i)
            else:
                await work.charge(i)

        async def kill_both(when: str) -> None:
            behind = await backlog(platform)
            await asyncio.gather(restart(platform, "analytics"), restart(platform, "dispatcher"))
            notes.append(f"kill -9 analytics and dispatcher {when} ({behind})")

        async def chaos() -> None:
            for fraction in (0.3, 0.65):
                await until_done(tally, total, fraction)
                await kill_both(f"after {tally.done} answers")

        await asyncio.gather(drive(total, 32, request), chaos())
        await kill_both("right after the load, while they catch up")
        await check_ledger(platform, findings, work, bootstrap=ctx.kafka.bootstrap, orders=True)
    findings.check(
        "no request failed (only consumers were killed)", not tally.failed, str(dict(tally.failed))
    )
    return Result(
        "kill-consumers", "kill -9 analytics and dispatcher mid-batch", tally, findings, notes
    )


# ---------------------------------------------------------------- 5. one of two instances lost


async def instance_loss(ctx: Context) -> Result:
    """Two instances of orders and payments: kill -9 one of each under load, then the registry."""
    tally, findings, notes = Tally(), Findings(), []
    async with (
        platform_for(ctx, "instance-loss", ctx.kafka) as platform,
        aiohttp.ClientSession() as s,
    ):
        work = await setup(Api(s, platform.gateway, tally), platform, users=20, products=3)
        seconds = [platform.start_instance(name, "2") for name in ("payments", "orders")]
        if not all((await platform.launcher.wait_ready(seconds, timeout=90)).values()):
            raise RuntimeError("second instances not ready")

        async def both_routed() -> bool:
            counts = [await platform.routed_instances(n) for n in ("payments", "orders")]
            return counts == [2, 2]

        if not await eventually(both_routed, timeout=30, interval=0.2):
            raise RuntimeError("the gateway never routed to two instances of each")
        stop = asyncio.Event()

        async def chaos() -> None:
            await seconds_of_load(tally, 3)
            for name in ("payments", "orders"):
                await asyncio.to_thread(
                    platform.launcher.stop, platform.running[name].spec, hard=True
                )
                notes.append(f"kill -9 one {name} instance after {tally.done} answers")
                await seconds_of_load(tally, 4)
            await asyncio.to_thread(platform.launcher.stop, platform.running["registry"].spec)
            notes.append(f"registry stopped after {tally.done} answers")
            await seconds_of_load(tally, 8)
            stop.set()

        await asyncio.gather(for_a_while(work.mixed, 32, stop), chaos())
        await check_ledger(platform, findings, work, bootstrap=ctx.kafka.bootstrap, orders=True)
    findings.check(
        "no idempotent request failed (GETs, POSTs with Idempotency-Key)",
        not tally.failed,
        str(dict(tally.failed)),
    )
    return Result(
        "instance-loss",
        "2 instances of orders/payments: kill -9 one; registry down",
        tally,
        findings,
        notes,
    )


# ---------------------------------------------------------------- 6. PostgreSQL restarted


async def all_ready(platform: LocalPlatform) -> bool:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        for running in platform.running.values():
            async with session.get(running.url + "/ready") as response:
                if response.status != 200:
                    return False
    return True


async def postgres_restart(ctx: Context) -> Result:
    """Stop PostgreSQL under load and start it again: clean 503s, then recovery on their own."""
    down = 5.0 if ctx.config.quick else 10.0
    tally, findings, notes = Tally(), Findings(), []
    async with (
        platform_for(ctx, "postgres-restart", ctx.kafka) as platform,
        aiohttp.ClientSession() as s,
    ):
        work = await setup(Api(s, platform.gateway, tally), platform, users=20, products=3)
        stop = asyncio.Event()

        async def chaos() -> None:
            await seconds_of_load(tally, 3)
            await asyncio.to_thread(ctx.postgres.stop)
            notes.append(f"PostgreSQL stopped after {tally.done} answers, for {down:.0f} s")
            await asyncio.sleep(down)  # the outage itself
            await asyncio.to_thread(ctx.postgres.start)
            started = time.monotonic()
            recovered = await eventually(lambda: all_ready(platform), timeout=60, interval=0.3)
            took = time.monotonic() - started
            notes.append(f"PostgreSQL back; every service ready again after {took:.1f} s")
            findings.check("services reconnect by themselves (all /ready within 60 s)", recovered)
            await seconds_of_load(tally, 5)
            stop.set()

        await asyncio.gather(for_a_while(work.mixed, 32, stop), chaos())
        await check_ledger(platform, findings, work, bootstrap=ctx.kafka.bootstrap, orders=True)
    not_503 = {k: v for k, v in tally.failed.items() if not k.startswith("HTTP 503")}
    findings.check("failures during the outage are 503s", not not_503, str(not_503))
    findings.check(
        "every failure is the JSON error shape, no stack trace",
        not tally.unclean,
        "; ".join(tally.unclean[:3]),
    )
    return Result(
        "postgres-restart", f"PostgreSQL down {down:.0f} s under load", tally, findings, notes
    )


Scenario = Callable[[Context], Awaitable[Result]]
SCENARIOS: dict[str, Scenario] = {
    "kill-payments": kill_payments,
    "kafka-outage": kafka_outage,
    "broker-loss": broker_loss,
    "kill-consumers": kill_consumers,
    "instance-loss": instance_loss,
    "postgres-restart": postgres_restart,
}


def describe(result: Result) -> dict[str, Any]:
    return {
        "name": result.name,
        "title": result.title,
        "passed": result.passed,
        "seconds": round(result.seconds, 1),
        "requests": {
            "sent": result.tally.sent,
            "acknowledged": result.tally.acked,
            "failed": sum(result.tally.failed.values()),
            "failures": dict(result.tally.failed),
            "retried_attempts": dict(result.tally.retried),
        },
        "figures": result.findings.figures,
        "checks": [
            {"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.findings.checks
        ],
        "notes": result.notes,
        "error": result.error,
    }
