"""What a service runs on: its settings, database, token verifier, client and outbox relay.

``main.py`` builds a :class:`ServiceRuntime` first (nothing connects yet), then
the service's units of work, use cases and consumers on it, then the app;
the app's lifespan opens the runtime (migrations), runs its background work
and closes it. An app object runs one lifespan: build another to restart.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from shopmesh.kit.client import Resolver, ServiceClient, StaticResolver
from shopmesh.kit.db import Database
from shopmesh.kit.jwt import CACHED_TOKENS, TokenVerifier
from shopmesh.kit.migrations import migrate
from shopmesh.kit.registry import RegistryAgent
from shopmesh.kit.relay import OutboxRelay
from shopmesh.kit.retention import RetentionRule, service_retention
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.uow import UnitOfWork

U = TypeVar("U", bound=UnitOfWork)
Work = Callable[[], Coroutine[Any, Any, None]]


class ServiceRuntime:
    """A service's shared plumbing, built once per app.

    ``migrations`` (``"pkg:dir"``) gives the service a database, migrated when
    the app starts; ``None`` is a service without one. ``produces`` names the
    topics its outbox relay publishes to (no relay without Kafka). With
    ``settings.registry_url`` set, the instance registers itself (unless
    ``register`` is false: the registry itself) and finds the others there.
    ``retention``: the service's own tables to keep bounded (``kit.retention``); the
    kit's outbox and processed-event tables are kept bounded in every service with a
    database.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations: str | None,
        produces: Sequence[str] = (),
        register: bool = True,
        retention: Sequence[RetentionRule] = (),
    ) -> None:
        self.settings = settings
        self.migrations = migrations
        self.database = None if migrations is None else _database(settings)
        self.verifier = TokenVerifier(
            secret=settings.jwt_secret, issuer=settings.jwt_issuer, cache_size=CACHED_TOKENS
        )
        self.relay = _relay(settings, self.database, produces)
        self.agent = RegistryAgent(settings, register=register) if settings.registry_url else None
        resolver: Resolver = (
            self.agent.resolver if self.agent else StaticResolver(settings.service_urls)
        )
        self.client = ServiceClient(settings, resolver)
        self.retention = None
        if self.database is not None and settings.retention_interval > 0:
            self.retention = service_retention(self.database, settings, retention)

    @property
    def db(self) -> Database:
        if self.database is None:
            raise RuntimeError(f"{self.settings.service_name} has no database")
        return self.database

    def units(self, kind: type[U]) -> Callable[[], U]:
        """The service's units of work of type ``kind``: each call gives a new one, on this
        database, that wakes this relay after committing events."""
        database, relay = self.db, self.relay
        return lambda: kind(database, relay=relay)

    def works(self) -> list[Work]:
        """The runtime's own background work: the outbox relay, the registry agent,
        retention."""
        works: list[Work] = []
        if self.relay is not None:
            works.append(self.relay.run)
        if self.agent is not None:
            works.append(self.agent.run)
        if self.retention is not None:
            works.append(self.retention.run)
        return works

    async def open(self) -> None:
        """Migrate the database (when the service has one) to the newest revision, waiting
        ``database_start_timeout`` seconds for it to answer."""
        if self.database is not None and self.migrations is not None:
            await migrate(self.database, self.migrations, wait=self.settings.database_start_timeout)

    async def close(self) -> None:
        await self.client.close()
        if self.database is not None:
            await self.database.close()


def _database(settings: ServiceSettings) -> Database:
    return Database(
        settings.db_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )


def _relay(
    settings: ServiceSettings, database: Database | None, produces: Sequence[str]
) -> OutboxRelay | None:
    if database is None or not produces or not settings.kafka_enabled:
        return None
    return OutboxRelay(
        database,
        service=settings.service_name,
        bootstrap=settings.kafka_bootstrap,
        batch_size=settings.outbox_batch_size,
        poll_interval=settings.outbox_poll_interval,
        topics=produces,
        replication=settings.kafka_replication,
        namespace=settings.namespace,
    )
