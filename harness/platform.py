"""The whole platform as real processes on PostgreSQL and Kafka, on free ports.

Used by the system tests, the benchmark and the fault scenarios, so all of
them start the services exactly as `make up` does (the
:class:`~shopmesh.launcher.Launcher`), but with one fresh PostgreSQL database
per service and topics and consumer groups of its own (its Kafka namespace, named as its
databases' prefix: several platforms share one broker), emptied first, so a run never
sees an earlier run's data or events. A local webhook receiver can stand in for the
external systems the dispatcher notifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

from harness.resources import (
    WebhookReceiver,
    database_url,
    free_port,
    postgres_dsn,
    reset_topics,
)
from shopmesh.kit.kafka import KafkaError, KafkaNamespace
from shopmesh.launcher import SERVICES, Launcher, RunningService, ServiceSpec


@dataclass(frozen=True)
class Credentials:
    """The secrets a disposable platform runs with (never production values)."""

    jwt_secret: str
    registry_token: str
    admin: tuple[str, str]


# For runs that need no particular values (the fault scenarios); loopback only.
DISPOSABLE = Credentials(
    jwt_secret="disposable-platform-secret-0123456789-abcdef",  # noqa: S106
    registry_token="disposable-registry-token-0123456789-abcdef",  # noqa: S106
    admin=("admin", "disposable-admin-password-0123456789"),
)
WEBHOOK_SECRET = "disposable-webhook-secret-0123456789-abcdef"  # noqa: S105


class PlatformNotReady(RuntimeError):
    """Some service did not answer ``/ready`` in time; the message carries their log tails."""


def platform_environment(
    *,
    database_template: str,
    kafka_bootstrap: str,
    urls: Mapping[str, str],
    credentials: Credentials,
) -> dict[str, str]:
    """The environment every service of one platform shares.

    ``database_template`` holds ``{service}``; ``urls`` maps service names to
    their base URLs (the registry's and the web UI's included when started).
    """
    backends = {n: u for n, u in urls.items() if n not in {"gateway", "gateway-metrics", "web"}}
    env = {
        "SHOPMESH_DATABASE_URL_TEMPLATE": database_template,
        "SHOPMESH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "SHOPMESH_JWT_SECRET": credentials.jwt_secret,
        "SHOPMESH_ADMIN_USERNAME": credentials.admin[0],
        "SHOPMESH_ADMIN_PASSWORD": credentials.admin[1],
        "SHOPMESH_SERVICE_URLS": json.dumps(backends),
        "SHOPMESH_REGISTRY_TOKEN": credentials.registry_token,
        # Quicker than the defaults (10 s, 30 s) so tests see instances come and go within
        # seconds; each heartbeat costs the sender and the registry a request.
        "SHOPMESH_REGISTRY_HEARTBEAT_INTERVAL": "2",
        "REGISTRY_TTL": "6",
        "GATEWAY_UPSTREAMS": json.dumps({n: [u] for n, u in backends.items()}),
    }
    if "gateway-metrics" in urls:
        env["GATEWAY_METRICS_PORT"] = urls["gateway-metrics"].rsplit(":", 1)[1]
    if "registry" in urls:
        env["SHOPMESH_REGISTRY_URL"] = urls["registry"]
    if "web" in urls:
        env["GATEWAY_CORS_ORIGINS"] = urls["web"]
        env["WEB_API_BASE"] = urls["gateway"]
    return env


@dataclass
class LocalPlatform:
    """Every service of ``specs`` started on free ports against one PostgreSQL server.

    Build it with :meth:`start`; :meth:`stop` stops every process it started
    (by pid) and drops its databases.
    """

    admin_url: str
    prefix: str
    launcher: Launcher
    urls: dict[str, str]
    env: dict[str, str]
    specs: tuple[ServiceSpec, ...]
    credentials: Credentials
    running: dict[str, RunningService] = field(default_factory=dict)
    webhooks: WebhookReceiver | None = None

    @property
    def admin(self) -> tuple[str, str]:
        return self.credentials.admin

    @classmethod
    def prepare(
        cls,
        *,
        state_dir: Path,
        admin_url: str,
        kafka_bootstrap: str,
        prefix: str,
        credentials: Credentials,
        specs: Iterable[ServiceSpec] = SERVICES,
    ) -> LocalPlatform:
        """Choose ports and build the environment; nothing is started yet."""
        chosen = tuple(specs)
        urls = {spec.name: f"http://127.0.0.1:{free_port()}" for spec in chosen}
        if "gateway" in urls:  # the gateway serves /metrics on a port of its own
            urls["gateway-metrics"] = f"http://127.0.0.1:{free_port()}"
        server = make_url(admin_url).set(database="").render_as_string(hide_password=False)
        # Built as text: rendering a URL would percent-encode the template's braces.
        template = f"{server.rstrip('/')}/{prefix}_{{service}}"
        env = platform_environment(
            database_template=template,
            kafka_bootstrap=kafka_bootstrap,
            urls=urls,
            credentials=credentials,
        )
        # Files the services write (development mail) stay with this platform's state.
        env["SHOPMESH_DATA_DIR"] = str(state_dir / "data")
        # Its own topics and groups: another platform on the broker never sees its events.
        env["SHOPMESH_KAFKA_NAMESPACE"] = prefix
        return cls(admin_url, prefix, Launcher(state_dir), urls, env, chosen, credentials)

    @property
    def kafka_bootstrap(self) -> str:
        return self.env["SHOPMESH_KAFKA_BOOTSTRAP"]

    @property
    def namespace(self) -> KafkaNamespace:
        """Where the services' topics and consumer groups are on the broker (as ``env`` says):
        a test or scenario that talks to Kafka itself names topics through it."""
        return KafkaNamespace(self.env.get("SHOPMESH_KAFKA_NAMESPACE", ""))

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    @property
    def gateway_metrics(self) -> str:
        """Where the gateway serves ``/metrics`` (not on its public port)."""
        return self.urls["gateway-metrics"]

    @property
    def database_urls(self) -> dict[str, str]:
        """Each service's own database (services with one only)."""
        return {s.name: self.database_url(s.name) for s in self.specs if s.database}

    def database_url(self, service: str) -> str:
        return database_url(self.admin_url, f"{self.prefix}_{service}")

    async def create_databases(self) -> None:
        """One empty database per service that has one."""
        connection = await asyncpg.connect(postgres_dsn(self.admin_url), timeout=10)
        try:
            for spec in self.specs:
                if spec.database:
                    name = f"{self.prefix}_{spec.name}"
                    # A fixed prefix (the fault runs') may still have a killed run's databases.
                    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop_databases(self) -> None:
        connection = await asyncpg.connect(postgres_dsn(self.admin_url), timeout=10)
        try:
            for spec in self.specs:
                if spec.database:
                    await connection.execute(
                        f'DROP DATABASE IF EXISTS "{self.prefix}_{spec.name}" WITH (FORCE)'
                    )
        finally:
            await connection.close()

    def start_service(self, name: str) -> RunningService:
        """Start (or restart) the process of service ``name`` on its chosen port."""
        spec = next(s for s in self.specs if s.name == name)
        port = int(self.urls[name].rsplit(":", 1)[1])
        running = self.running[name] = self.launcher.start(spec, env=self.env, port=port)
        return running

    def stop_service(self, name: str) -> None:
        spec = next(s for s in self.specs if s.name == name)
        self.launcher.stop(spec)
        self.running.pop(name, None)

    def start_instance(self, name: str, instance: str) -> RunningService:
        """Start one more process of service ``name`` on a free port."""
        spec = next(s for s in self.specs if s.name == name)
        extra = ServiceSpec(spec.name, spec.port, instance=instance, database=spec.database)
        running = self.running[extra.key] = self.launcher.start(
            extra, env=self.env, port=free_port()
        )
        return running

    def restart(self, key: str) -> RunningService:
        """Start the process ``key`` (a service or an extra instance) again on its port."""
        previous = self.running[key]
        port = int(previous.url.rsplit(":", 1)[1])
        running = self.running[key] = self.launcher.start(previous.spec, env=self.env, port=port)
        return running

    async def start(self, *, timeout: float = 120.0) -> dict[str, bool]:
        """Start every service and wait for readiness; returns who became ready."""
        for spec in self.specs:
            self.start_service(spec.name)
        return await self.launcher.wait_ready(self.running.values(), timeout=timeout)

    async def routed_instances(self, service: str) -> int:
        """How many instances of ``service`` the gateway routes to (its own metric)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.gateway_metrics}/metrics") as response,
        ):
            text = await response.text()
        pattern = rf'shopmesh_gateway_upstream_instances{{service="{service}"}} (\d+)'
        found = re.search(pattern, text)
        return int(found.group(1)) if found else 0

    def logs_tail(self, chars: int = 3000) -> dict[str, str]:
        """The end of each service's log, for a failure message."""
        tails = {}
        for name in self.running:
            try:
                tails[name] = (self.launcher.log_dir / f"{name}.log").read_text()[-chars:]
            except OSError:
                tails[name] = "(no log)"
        return tails

    def stop(self) -> list[str]:
        """Stop every process this platform started (extra instances included)."""
        stopped = self.launcher.stop_all(self.launcher.started())
        self.running.clear()
        return stopped


@asynccontextmanager
async def running_platform(
    *,
    admin_url: str,
    kafka_bootstrap: str,
    state_dir: Path,
    webhooks: WebhookReceiver | None = None,
    services: Iterable[ServiceSpec] = SERVICES,
    extra_env: Mapping[str, str] | None = None,
    prefix: str | None = None,
    credentials: Credentials = DISPOSABLE,
    ready_timeout: float = 120.0,
) -> AsyncIterator[LocalPlatform]:
    """Start ``services`` on fresh databases and emptied topics (of the platform's own
    namespace); stop them all and drop the databases and topics afterwards. Raises
    :class:`PlatformNotReady` with the log tails."""
    platform = LocalPlatform.prepare(
        state_dir=state_dir,
        admin_url=admin_url,
        kafka_bootstrap=kafka_bootstrap,
        prefix=prefix or f"sys_{uuid.uuid4().hex[:8]}",
        credentials=credentials,
        specs=services,
    )
    platform.webhooks = webhooks
    platform.env["AUTH_BCRYPT_ROUNDS"] = "4"  # disposable accounts: fast hashing
    if webhooks is not None:
        platform.env["DISPATCHER_WEBHOOK_URLS"] = webhooks.url
        platform.env["DISPATCHER_WEBHOOK_SECRET"] = WEBHOOK_SECRET
        platform.env["DISPATCHER_WEBHOOK_BACKOFF"] = "0.2"
    platform.env.update(extra_env or {})
    await reset_topics(kafka_bootstrap, platform.namespace)
    await platform.create_databases()
    try:
        ready = await platform.start(timeout=ready_timeout)
        if not all(ready.values()):
            tails = json.dumps(platform.logs_tail(), indent=1)
            raise PlatformNotReady(f"platform not ready: {ready}\n{tails}")
        yield platform
    finally:
        platform.stop()
        await platform.drop_databases()
        await _forget_topics(kafka_bootstrap, platform.namespace)


async def _forget_topics(bootstrap: str, namespace: KafkaNamespace) -> None:
    """Delete the platform's topics (without waiting for Kafka to finish): a random
    namespace's are never used again. A broker that is away keeps them."""
    with contextlib.suppress(KafkaError, OSError, TimeoutError):
        async with asyncio.timeout(15):
            await reset_topics(bootstrap, namespace, wait=False)
