"""Keeps the gateway's upstream lists in step with the registry, off the request path.

The kit's :class:`~shopmesh.kit.registry.RegistryResolver` does the asking
(one call for every routed service, last known good kept while the registry
is down); this loop copies its answers into :class:`Upstreams`, which the
request path reads without any I/O. A service the registry never answered
about keeps its static URLs from settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence

from shopmesh.gateway.metrics import UPSTREAM_INSTANCES
from shopmesh.gateway.upstreams import Upstreams
from shopmesh.kit.aio import cancelling
from shopmesh.kit.registry import RegistryClient, RegistryResolver
from shopmesh.kit.settings import ServiceSettings

log = logging.getLogger(__name__)


class Discovery:
    """Refreshes ``upstreams`` from the registry every ``interval`` seconds."""

    def __init__(
        self,
        settings: ServiceSettings,
        upstreams: Upstreams,
        *,
        services: Iterable[str],
        static: Mapping[str, Sequence[str]],
        interval: float,
    ) -> None:
        self._client = RegistryClient(settings)
        self._resolver = RegistryResolver(
            settings, client=self._client, fallback=static, refresh_interval=interval
        )
        self._services = frozenset(services)
        self._resolver.watch(self._services)
        self._upstreams = upstreams
        self._static = static
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """One lookup before the first request (if the registry is down, static URLs stand)."""
        await self.refresh()
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._resolver.close()
        await self._client.close()

    async def refresh(self) -> bool:
        """Ask the registry once and apply the answer; ``False`` if it did not answer."""
        answered = await self._resolver.refresh()
        for service in self._services:
            known = self._resolver.known(service)
            urls = known if known is not None else self._static.get(service, ())
            if tuple(urls) != self._upstreams.urls(service):
                log.info("instances of %s: %s", service, ", ".join(urls) or "none")
                self._upstreams.update(service, urls)
            UPSTREAM_INSTANCES.labels(service).set(len(urls))
        return answered

    async def run(self) -> None:
        """Refresh until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except Exception as exc:  # one bad round must not end discovery for good
                if cancelling():
                    raise asyncio.CancelledError from exc
                log.exception("upstream discovery failed")
