"""The service registry from a service's side: staying registered and finding the others.

When ``settings.registry_url`` is set, every service built with the app
factory runs a :class:`RegistryAgent`: its :class:`Presence` registers the
instance (retrying in the background while the registry is down, so the
service starts and serves regardless), heartbeats, registers again when the
registry has forgotten it (a restart empties it) and deregisters at
shutdown; its :class:`RegistryResolver` gives the service client the other
services' instances, cached and refreshed in the background, keeping the
last known good list while the registry cannot answer.
"""

from __future__ import annotations

import asyncio

from shopmesh.kit.registry.client import (
    REGISTRY_CALLS,
    RegisteredInstance,
    Registration,
    RegistryClient,
    RegistryError,
)
from shopmesh.kit.registry.presence import Presence
from shopmesh.kit.registry.resolver import InstanceCache, RegistryResolver
from shopmesh.kit.settings import ServiceSettings

__all__ = [
    "REGISTRY_CALLS",
    "InstanceCache",
    "Presence",
    "RegisteredInstance",
    "Registration",
    "RegistryAgent",
    "RegistryClient",
    "RegistryError",
    "RegistryResolver",
]


class RegistryAgent:
    """A service's link to the registry: its :class:`Presence` and its resolver."""

    def __init__(self, settings: ServiceSettings, *, register: bool = True) -> None:
        self.client = RegistryClient(settings)
        self.resolver = RegistryResolver(settings, client=self.client)
        self.presence = (
            Presence(
                self.client,
                Registration.of(settings),
                interval=settings.registry_heartbeat_interval,
            )
            if register
            else None
        )

    async def run(self) -> None:
        """Stay registered and keep the resolver fresh until cancelled; then deregister."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.resolver.run())
                if self.presence is not None:
                    group.create_task(self.presence.run())
        finally:
            await self.resolver.close()
            await self.client.close()
