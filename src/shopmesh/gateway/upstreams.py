"""Where each backend service lives: its instances, picked in turn, failing ones set aside.

Each service has an :class:`InstancePool` (round-robin with ejection) and a
:class:`~shopmesh.gateway.breaker.CircuitBreaker`. The lists come from
settings (static URLs) and, when a registry is configured, are replaced by
discovery in the background; the request path only reads them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from shopmesh.gateway.breaker import CircuitBreaker
from shopmesh.gateway.metrics import UPSTREAM_INSTANCES, circuit_state_recorder

Clock = Callable[[], float]


class InstancePool:
    """One service's base URLs, handed out in turn, skipping ejected ones."""

    __slots__ = ("_clock", "_eject_for", "_ejected", "_next", "breaker", "urls")

    def __init__(
        self,
        urls: Iterable[str],
        *,
        breaker: CircuitBreaker,
        eject_for: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.urls: tuple[str, ...] = tuple(url.rstrip("/") for url in urls)
        self.breaker = breaker
        self._eject_for = eject_for
        self._clock = clock
        self._ejected: dict[str, float] = {}  # url -> until when
        self._next = 0

    def replace(self, urls: Iterable[str]) -> None:
        """New instance list (from discovery); ejections of instances still listed stand."""
        self.urls = tuple(url.rstrip("/") for url in urls)
        for url in [u for u in self._ejected if u not in self.urls]:
            del self._ejected[url]

    def pick(self, *, avoid: str | None = None) -> str | None:
        """The next instance in turn that is not ejected (nor ``avoid``).

        If every instance is ejected, the next one in turn is tried anyway (a
        guess beats a certain 503); with ``avoid`` (a retry) ``None`` is returned.
        """
        urls = self.urls
        count = len(urls)
        if not count:
            return None
        start = self._next % count
        self._next = start + 1
        if not self._ejected and avoid is None:
            return urls[start]
        now = self._clock()
        for offset in range(count):
            url = urls[(start + offset) % count]
            if url != avoid and self._usable(url, now):
                return url
        return None if avoid is not None else urls[start]

    def eject(self, url: str) -> bool:
        """Set ``url`` aside for ``eject_for`` seconds (it refused a connection)."""
        if self._eject_for > 0 and url in self.urls:
            self._ejected[url] = self._clock() + self._eject_for
            return True
        return False

    def ejected(self) -> frozenset[str]:
        now = self._clock()
        return frozenset(url for url, until in self._ejected.items() if until > now)

    def _usable(self, url: str, now: float) -> bool:
        until = self._ejected.get(url)
        if until is None:
            return True
        if until <= now:
            del self._ejected[url]
            return True
        return False


class Upstreams:
    """The pools of every service the gateway knows."""

    def __init__(
        self,
        services: Mapping[str, Iterable[str]],
        *,
        eject_for: float = 10.0,
        failure_threshold: int = 5,
        open_for: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._eject_for = eject_for
        self._failure_threshold = failure_threshold
        self._open_for = open_for
        self._clock = clock
        self._pools: dict[str, InstancePool] = {}
        for name, urls in services.items():
            self.update(name, urls)

    def pool(self, service: str) -> InstancePool | None:
        """The service's pool (``None`` for a service never configured nor discovered)."""
        return self._pools.get(service)

    def pick(self, service: str) -> str | None:
        """A base URL (``http://host:port``) for ``service``, or ``None`` if it has none."""
        pool = self._pools.get(service)
        return pool.pick() if pool is not None else None

    def update(self, service: str, urls: Iterable[str]) -> None:
        """Set the service's instances (its breaker and ejections carry over)."""
        pool = self._pools.get(service)
        if pool is None:
            breaker = CircuitBreaker(
                failure_threshold=self._failure_threshold,
                open_for=self._open_for,
                clock=self._clock,
                on_change=circuit_state_recorder(service),
            )
            self._pools[service] = InstancePool(
                urls, breaker=breaker, eject_for=self._eject_for, clock=self._clock
            )
        else:
            pool.replace(urls)
        UPSTREAM_INSTANCES.labels(service).set(len(self._pools[service].urls))

    def urls(self, service: str) -> tuple[str, ...]:
        pool = self._pools.get(service)
        return pool.urls if pool is not None else ()

    def services(self) -> frozenset[str]:
        """Names of the services that have at least one URL."""
        return frozenset(name for name, pool in self._pools.items() if pool.urls)
