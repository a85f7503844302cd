"""The registry's table of live instances and its rules (pure: no I/O, an injectable clock).

Like Eureka, the table lives in memory only: a restarted registry starts
empty and the instances fill it again at their next heartbeat (the kit's
registration loop registers again when a heartbeat answers 404).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from shopmesh.kit.errors import Conflict, NotFound

Clock = Callable[[], float]

SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,49}")
INSTANCE_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
MAX_URL_LENGTH = 2048
MAX_METADATA_ENTRIES = 20
MAX_METADATA_KEY_LENGTH = 64
MAX_METADATA_VALUE_LENGTH = 256
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


class UnknownInstance(NotFound):
    """No live instance has that id (never registered, deregistered or expired)."""

    code = "unknown_instance"


class RegistryFull(Conflict):
    """The table holds as many instances as it may."""

    code = "registry_full"


def is_http_url(value: str) -> bool:
    """An absolute ``http(s)://host[:port][/path]`` URL without credentials or fragment."""
    if len(value) > MAX_URL_LENGTH or _UNSAFE_IN_URL.search(value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and not parts.fragment
    )


def metadata_problem(metadata: Mapping[str, str]) -> str | None:
    """Why ``metadata`` is refused (too many or too long entries), or ``None``."""
    if len(metadata) > MAX_METADATA_ENTRIES:
        return f"at most {MAX_METADATA_ENTRIES} entries"
    for key, value in metadata.items():
        if not 0 < len(key) <= MAX_METADATA_KEY_LENGTH:
            return f"keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters"
        if len(value) > MAX_METADATA_VALUE_LENGTH:
            return f"values must be at most {MAX_METADATA_VALUE_LENGTH} characters"
    return None


@dataclass(frozen=True, slots=True)
class Instance:
    """One registered instance of a service; times are clock seconds (Unix time)."""

    service: str
    instance_id: str
    url: str
    health_url: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    registered_at: float = 0.0
    last_heartbeat_at: float = 0.0

    def expired(self, now: float, ttl: float) -> bool:
        """Silent for ``ttl`` seconds or more since its last sign of life."""
        return now - self.last_heartbeat_at >= ttl


class InstanceTable:
    """Live instances by service; an instance silent for ``ttl`` seconds is gone.

    Expired instances are never returned or refreshed, whether or not
    :meth:`evict_expired` has removed them yet.
    """

    def __init__(
        self, *, ttl: float, clock: Clock = time.time, max_instances: int = 10_000
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max_instances = max_instances
        self._services: dict[str, dict[str, Instance]] = {}

    def register(
        self,
        service: str,
        instance_id: str,
        *,
        url: str,
        health_url: str,
        metadata: Mapping[str, str] | None = None,
    ) -> tuple[Instance, bool]:
        """Add the instance, or refresh it when the id is live already; ``True`` if new."""
        now = self._clock()
        known = self._live(service, instance_id, now)
        if known is None and self._count() >= self._max_instances:
            self.evict_expired()
            if self._count() >= self._max_instances:
                raise RegistryFull(f"the registry holds {self._max_instances} instances already")
        instance = Instance(
            service=service,
            instance_id=instance_id,
            url=url.rstrip("/"),
            health_url=health_url,
            metadata=dict(metadata or {}),
            registered_at=known.registered_at if known is not None else now,
            last_heartbeat_at=now,
        )
        self._services.setdefault(service, {})[instance_id] = instance
        return instance, known is None

    def heartbeat(self, service: str, instance_id: str) -> Instance:
        """Mark the instance alive now; :class:`UnknownInstance` if it is not live."""
        now = self._clock()
        known = self._live(service, instance_id, now)
        if known is None:
            raise UnknownInstance(f"no live instance {instance_id!r} of {service!r}")
        instance = replace(known, last_heartbeat_at=now)
        self._services[service][instance_id] = instance
        return instance

    def deregister(self, service: str, instance_id: str) -> Instance:
        """Remove the instance; :class:`UnknownInstance` if it is not live."""
        known = self._live(service, instance_id, self._clock())
        if known is None:
            raise UnknownInstance(f"no live instance {instance_id!r} of {service!r}")
        self._remove(service, instance_id)
        return known

    def live(self, service: str) -> list[Instance]:
        """The service's live instances, oldest registration first."""
        now = self._clock()
        instances = self._services.get(service, {}).values()
        alive = [i for i in instances if not i.expired(now, self.ttl)]
        return sorted(alive, key=lambda i: (i.registered_at, i.instance_id))

    def all_live(self) -> dict[str, list[Instance]]:
        """Every service with at least one live instance."""
        found = {service: self.live(service) for service in sorted(self._services)}
        return {service: instances for service, instances in found.items() if instances}

    def evict_expired(self) -> list[Instance]:
        """Drop every expired instance and return them."""
        now = self._clock()
        expired = [
            instance
            for instances in self._services.values()
            for instance in instances.values()
            if instance.expired(now, self.ttl)
        ]
        for instance in expired:
            self._remove(instance.service, instance.instance_id)
        return expired

    def _live(self, service: str, instance_id: str, now: float) -> Instance | None:
        instance = self._services.get(service, {}).get(instance_id)
        if instance is None:
            return None
        if instance.expired(now, self.ttl):
            self._remove(service, instance_id)
            return None
        return instance

    def _remove(self, service: str, instance_id: str) -> None:
        instances = self._services.get(service)
        if instances is None:
            return
        instances.pop(instance_id, None)
        if not instances:
            del self._services[service]

    def _count(self) -> int:
        return sum(len(instances) for instances in self._services.values())
