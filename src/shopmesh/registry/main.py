"""Wiring of the registry: an in-memory table, its sweeper, and the process entry."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.registry.api import router
from shopmesh.registry.domain import InstanceTable
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


def create_app(settings: Settings | None = None) -> Any:
    """The registry ASGI app; it has no database and never registers with itself."""
    settings = settings or Settings()

    async def on_startup(runtime: ServiceRuntime) -> None:
        table = InstanceTable(ttl=settings.ttl, max_instances=settings.max_instances)
        runtime.state["instances"] = table
        runtime.background.append(lambda: sweep(table, every=settings.sweep_every))

    return create_service_app(
        settings,
        title="ShopMesh registry",
        description=DESCRIPTION,
        routers=[router],
        migrations=None,
        on_startup=on_startup,
        register=False,
    )


def run() -> None:
    """Entry point of ``shopmesh-registry``."""
    settings = Settings()
    serve(create_app(settings), settings)
