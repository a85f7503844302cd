"""What every scenario gets: settings of the run, the cleanup, and the platform (started once)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from bench import infra
from bench.infra import Cleanup
from bench.measure import memory_kib, process_tree
from harness.platform import Credentials, LocalPlatform
from harness.resources import postgres_dsn, reset_topics
from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.launcher import SERVICES

log = logging.getLogger("bench")
JWT_ISSUER = "shopmesh-auth"
T = TypeVar("T")

# Fresh random secrets per run: nothing the benchmark prints or writes lets anyone in.
CREDENTIALS = Credentials(
    jwt_secret=secrets.token_urlsafe(32),
    registry_token=secrets.token_urlsafe(32),
    admin=("admin", secrets.token_urlsafe(16)),
)
# The benchmark sets its own limits (DESIGN.md): counted and checked on every request,
# but high enough that one load generator on one address is never refused.
BENCH_ENV = {
    "GATEWAY_RATE_LIMIT_IP": "1000000/second",
    "GATEWAY_RATE_LIMIT_USER": "100000/second",
    "GATEWAY_RATE_LIMIT_LOGIN": "1000000/minute",
    "GATEWAY_RATE_LIMIT_REGISTER": "1000000/hour",
    # Registering the benchmark's users is set-up, not a figure: cheap hashes.
    "AUTH_BCRYPT_ROUNDS": "4",
    "DISPATCHER_HANDLING_DELAY": "0",
}
# The test-oriented values of platform_environment that the benchmark leaves at their defaults.
_DEFAULTED = (
    "SHOPMESH_REGISTRY_HEARTBEAT_INTERVAL",
    "REGISTRY_TTL",
)


@dataclass
class Context:
    quick: bool
    repeats: int
    raw_dir: Path
    cleanup: Cleanup
    platform: LocalPlatform | None = None
    # Memory of the platform: right after start, and sampled under load (journeys).
    memory_fresh: dict[str, int] = field(default_factory=dict)
    memory_samples: list[dict[str, int]] = field(default_factory=list)

    def seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def token_for(self, user_id: int, *, role: str = "user") -> str:
        """A token signed with the run's secret, as auth would issue it."""
        token: str = issue_token(
            Principal(user_id=user_id, username=f"bench-{user_id}", role=role),
            secret=CREDENTIALS.jwt_secret,
            issuer=JWT_ISSUER,
            ttl=timedelta(hours=2),
        )
        return token

    async def started_platform(self) -> LocalPlatform:
        """PostgreSQL, Kafka and every service (the UI's static server aside), once per run."""
        if self.platform is not None:
            return self.platform
        await asyncio.to_thread(infra.start_postgres, self.cleanup)
        await asyncio.to_thread(infra.start_kafka, self.cleanup)
        platform = LocalPlatform.prepare(
            state_dir=infra.STATE / "platform",
            admin_url=infra.ADMIN_URL,
            kafka_bootstrap=infra.KAFKA_BOOTSTRAP,
            prefix=f"bench_{uuid.uuid4().hex[:8]}",
            credentials=CREDENTIALS,
            specs=[spec for spec in SERVICES if spec.name != "web"],
        )
        for name in _DEFAULTED:
            platform.env.pop(name, None)
        platform.env.update(BENCH_ENV)
        await platform.create_databases()
        # A namespace of its own (fresh, so empty): its topics go with the run.
        self.cleanup.push(
            "topics",
            lambda: asyncio.run(
                reset_topics(infra.KAFKA_BOOTSTRAP, platform.namespace, wait=False)
            ),
        )
        self.cleanup.push("databases", lambda: asyncio.run(platform.drop_databases()))
        self.cleanup.push("platform", platform.stop)
        started = time.monotonic()
        ready = await platform.start(timeout=180)
        if not all(ready.values()):
            tails = json.dumps(platform.logs_tail(1500), indent=1)
            raise RuntimeError(f"platform not ready: {ready}\n{tails}")
        log.info("platform ready in %.1fs", time.monotonic() - started)
        self.platform = platform
        self.memory_fresh = self.platform_memory()
        return platform

    def platform_pids(self) -> set[int]:
        """Every process of the platform: services, Kafka's JVM, the PostgreSQL server."""
        roots = [infra.kafka_pid(), infra.postgres_pid()]
        if self.platform is not None:
            roots += [self.platform.launcher.pid_of(spec) for spec in self.platform.specs]
        return process_tree(pid for pid in roots if pid is not None)

    def platform_parts(self) -> dict[str, set[int]]:
        """The pids of each service of the platform, of Kafka and of PostgreSQL."""
        parts: dict[str, set[int]] = {}
        if self.platform is not None:
            for spec in self.platform.specs:
                pid = self.platform.launcher.pid_of(spec)
                if pid is not None:
                    parts[spec.name] = {pid}
        for name, pid in (("kafka", infra.kafka_pid()), ("postgres", infra.postgres_pid())):
            if pid is not None:
                parts[name] = process_tree([pid])
        return parts

    def bench_pids(self) -> set[int]:
        """This process and everything it started (the platform, Kafka, PostgreSQL, tools)."""
        roots = [os.getpid(), infra.kafka_pid(), infra.postgres_pid()]
        return process_tree(pid for pid in roots if pid is not None)

    def platform_memory(self) -> dict[str, int]:
        """RSS and PSS (KiB) of the platform, in total and by part."""
        kafka, postgres = infra.kafka_pid(), infra.postgres_pid()
        parts = {
            "kafka": process_tree([kafka] if kafka else []),
            "postgres": process_tree([postgres] if postgres else []),
        }
        services = self.platform_pids() - parts["kafka"] - parts["postgres"]
        memory = memory_kib(services | parts["kafka"] | parts["postgres"])
        for name, pids in {"services": services, **parts}.items():
            for key, value in memory_kib(pids).items():
                memory[f"{name}_{key}"] = value
        return memory

    def sample_memory(self) -> None:
        self.memory_samples.append(self.platform_memory())


async def register_users(
    session: aiohttp.ClientSession, count: int, *, prefix: str, concurrency: int = 16
) -> list[dict[str, Any]]:
    """Register ``count`` users through the gateway; each ``{id, username, token}``."""
    semaphore = asyncio.Semaphore(concurrency)
    run = uuid.uuid4().hex[:6]

    async def one(index: int) -> dict[str, Any]:
        body = {"username": f"{prefix}{run}{index}", "password": "bench-password-123"}
        async with semaphore, session.post("/auth/register", json=body) as response:
            if response.status != 201:
                raise RuntimeError(f"register failed: {response.status} {await response.text()}")
            user: dict[str, Any] = await response.json()
            return user

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def admin_token(session: aiohttp.ClientSession) -> str:
    body = {"username": CREDENTIALS.admin[0], "password": CREDENTIALS.admin[1]}
    async with session.post("/auth/login", json=body) as response:
        response.raise_for_status()
        token: str = (await response.json())["token"]
        return token


def dsn(url: str) -> str:
    text: str = postgres_dsn(url)
    return text


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "no")
