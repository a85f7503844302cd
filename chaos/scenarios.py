"""The fault scenarios: each starts a platform, drives load, injects a fault, checks the ledger."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable

import aiohttp

from chaos.context import (
    Context,
    Result,
    all_ready,
    backlog,
    platform_for,
    restart,
)
from chaos.infra import kafka_cluster
from chaos.ledger import Findings, eventually
from chaos.load import Api, Tally, drive, until_done
from chaos.saga import kill_saga
from chaos.workload import check_ledger, for_a_while, seconds_of_load, setup

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
    "kill-saga": kill_saga,
}
