"""Finding a service's instances through the registry, cached, last known good kept."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from shopmesh.kit.aio import cancelling
from shopmesh.kit.registry.client import RegisteredInstance, RegistryClient, RegistryError
from shopmesh.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# A service the registry could not name instances for is asked about again after this.
_MISS_RETRY = 1.0


class InstanceCache:
    """Last known good instance URLs per service (pure; injectable clock).

    An empty answer does not wipe a known list at once: a restarted registry is
    empty until the instances' next heartbeats, so only emptiness that lasts
    ``empty_grace`` seconds is believed. A service the registry has never
    listed stays unknown, so callers keep using its static URL meanwhile.
    """

    def __init__(self, *, empty_grace: float, clock: Clock = time.monotonic) -> None:
        self._empty_grace = empty_grace
        self._clock = clock
        self._urls: dict[str, list[str]] = {}
        self._empty_since: dict[str, float] = {}
        self._checked_at: dict[str, float] = {}

    def get(self, service: str) -> list[str] | None:
        """The known URLs; ``None`` if the registry never answered about ``service``."""
        return self._urls.get(service)

    def checked_at(self, service: str) -> float | None:
        return self._checked_at.get(service)

    def update(self, service: str, urls: Sequence[str]) -> None:
        """Record the registry's answer about ``service``."""
        now = self._clock()
        self._checked_at[service] = now
        if urls:
            self._urls[service] = list(urls)
            self._empty_since.pop(service, None)
            return
        if not self._urls.get(service):
            # Never listed yet (the platform is starting): keep falling back to static URLs.
            return
        since = self._empty_since.setdefault(service, now)
        if now - since >= self._empty_grace:
            self._urls[service] = []
            del self._empty_since[service]


class RegistryResolver:
    """Instances from the registry, for :class:`~shopmesh.kit.client.ServiceClient`.

    :meth:`urls` answers from the cache; a service never seen (or with no
    instances) is looked up at once, at most every second. :meth:`run`
    refreshes every watched service in one call. Until the registry has
    answered about a service, the ``fallback`` URLs (by default
    ``settings.service_urls``) are used.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        client: RegistryClient | None = None,
        fallback: Mapping[str, str | Sequence[str]] | None = None,
        refresh_interval: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._client = client or RegistryClient(settings)
        self._owns_client = client is None
        source = settings.service_urls if fallback is None else fallback
        self._fallback = {n: [u] if isinstance(u, str) else list(u) for n, u in source.items()}
        interval = settings.registry_heartbeat_interval
        self.refresh_interval = refresh_interval or min(5.0, interval)
        self._cache = InstanceCache(empty_grace=3 * interval, clock=clock)
        self._clock = clock
        self._watched: set[str] = set()
        self._failed_at: dict[str, float] = {}
        self._lookups: dict[str, asyncio.Task[None]] = {}
        self._failing = False

    async def urls(self, service: str) -> list[str]:
        """Base URLs of ``service``'s instances."""
        self._watched.add(service)
        known = self._cache.get(service)
        if not known and self._may_look_up(service):
            await self._look_up(service)
            known = self._cache.get(service)
        if known is None:
            return list(self._fallback.get(service, ()))
        return list(known)

    def known(self, service: str) -> list[str] | None:
        """The cached answer about ``service``; ``None`` if the registry never gave one."""
        return self._cache.get(service)

    def watch(self, services: Iterable[str]) -> None:
        """Refresh these services in the background from now on."""
        self._watched.update(services)

    async def refresh(self) -> bool:
        """Refresh every watched service in one call; ``False`` if the registry did not answer."""
        if not self._watched:
            return True
        try:
            answer = await self._client.services()
        except RegistryError as exc:
            self._unreachable(exc)
            return False
        self._reachable()
        for service in self._watched:
            self._cache.update(service, _urls_of(answer.get(service, [])))
        return True

    async def run(self) -> None:
        """Refresh every ``refresh_interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self.refresh()
            except Exception as exc:  # one bad round must not end discovery for good
                if cancelling():
                    raise asyncio.CancelledError from exc
                log.exception("registry refresh failed")

    async def close(self) -> None:
        for task in list(self._lookups.values()):
            task.cancel()
        if self._owns_client:
            await self._client.close()

    def _may_look_up(self, service: str) -> bool:
        checked = self._cache.checked_at(service)
        last = max(
            -math.inf if checked is None else checked, self._failed_at.get(service, -math.inf)
        )
        return self._clock() - last >= _MISS_RETRY

    async def _look_up(self, service: str) -> None:
        # Concurrent misses for one service share a single lookup.
        task = self._lookups.get(service)
        if task is None:
            task = asyncio.ensure_future(self._fetch(service))
            self._lookups[service] = task
            task.add_done_callback(lambda _: self._lookups.pop(service, None))
        await asyncio.shield(task)

    async def _fetch(self, service: str) -> None:
        try:
            instances = await self._client.instances(service)
        except RegistryError as exc:
            self._failed_at[service] = self._clock()
            self._unreachable(exc)
            return
        self._reachable()
        self._cache.update(service, _urls_of(instances))

    def _unreachable(self, exc: RegistryError) -> None:
        if not self._failing:
            log.warning("registry lookup failed; using the last known instances: %s", exc)
        self._failing = True

    def _reachable(self) -> None:
        if self._failing:
            log.info("registry lookups work again")
        self._failing = False


def _urls_of(instances: Iterable[RegisteredInstance]) -> list[str]:
    return sorted({instance.url for instance in instances})
