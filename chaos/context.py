"""What every fault scenario runs with: its configuration, its platform, restarts, its result."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from chaos.infra import Kafka, Postgres
from chaos.ledger import Findings, query
from chaos.load import Tally
from harness.platform import LocalPlatform, running_platform
from harness.resources import webhook_receiver
from shopmesh.launcher import SERVICES

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


async def all_ready(platform: LocalPlatform) -> bool:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        for running in platform.running.values():
            async with session.get(running.url + "/ready") as response:
                if response.status != 200:
                    return False
    return True


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
