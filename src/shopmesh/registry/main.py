"""Wiring of the registry: an in-memory table, its sweeper, and the process entry."""

from __future__ import annotations

import asyncio
import logging
import time

from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.registry.api import SettingsDependency, TableDependency, router
from shopmesh.registry.domain import Clock, InstanceTable
from shopmesh.registry.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Where the platform's service instances are: register, heartbeat, deregister, lookup. "
    "In memory by design: a restarted registry is filled again by the instances' heartbeats."
)


async def sweep(table: InstanceTable, *, every: float) -> None:
    """Drop expired instances from memory now and then (reads never return them anyway)."""
    while True:
        await asyncio.sleep(every)
        for instance in table.evict_expired():
            log.info(
                "instance expired",
                extra={"of_service": instance.service, "instance": instance.instance_id},
            )


def create_app(settings: Settings | None = None, *, clock: Clock = time.time) -> ServiceApp:
    """The registry ASGI app; it has no database and never registers with itself.

    ``clock`` (Unix seconds) decides when an instance has been silent too long."""
    settings = settings or Settings()
    table = InstanceTable(ttl=settings.ttl, max_instances=settings.max_instances, clock=clock)

    async def sweeper() -> None:
        await sweep(table, every=settings.sweep_every)

    return create_service_app(
        ServiceRuntime(settings, migrations=None, register=False),
        title="ShopMesh registry",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[SettingsDependency.given(settings), TableDependency.given(table)],
        background=[sweeper],
    )


def run() -> None:
    """Entry point of ``shopmesh-registry``."""
    settings = Settings()
    serve(create_app(settings), settings)
