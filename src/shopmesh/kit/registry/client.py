"""The registry's HTTP API from a service's side (aiohttp, with the platform's registry token)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from prometheus_client import Counter

from shopmesh.kit.settings import ServiceSettings

REGISTRY_CALLS = Counter(
    "shopmesh_registry_client_calls_total",
    "Calls to the service registry by caller, operation and outcome (ok, unknown, error).",
    ["service", "operation", "outcome"],
)

_CALL_TIMEOUT = 2.0
_DEREGISTER_TIMEOUT = 1.0
_UNSAFE_IN_ID = re.compile(r"[^A-Za-z0-9._:-]")


class RegistryError(Exception):
    """The registry could not be reached, or refused the call."""


class _Unknown(RegistryError):
    """The registry does not know the instance (404)."""


@dataclass(frozen=True, slots=True)
class Registration:
    """What an instance tells the registry about itself."""

    service: str
    instance_id: str
    url: str
    health_url: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: ServiceSettings) -> Registration:
        """This process: ``<service>-<advertised host>-<port>-<random>`` at its advertised URL."""
        host = _UNSAFE_IN_ID.sub("-", settings.advertise_host or settings.host)[:40]
        url = settings.advertised_url
        return cls(
            service=settings.service_name,
            instance_id=f"{settings.service_name}-{host}-{settings.port}-{secrets.token_hex(3)}",
            url=url,
            health_url=f"{url}/ready",
            metadata={"pid": str(os.getpid()), "environment": settings.environment.value},
        )


@dataclass(frozen=True, slots=True)
class RegisteredInstance:
    """An instance as the registry lists it."""

    service: str
    instance_id: str
    url: str
    health_url: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> RegisteredInstance:
        try:
            return cls(
                service=str(data["service"]),
                instance_id=str(data["instance_id"]),
                url=str(data["url"]).rstrip("/"),
                health_url=str(data["health_url"]),
                metadata=dict(data.get("metadata") or {}),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise RegistryError(f"malformed instance from the registry: {exc!r}") from None


class RegistryClient:
    """The registry's HTTP API over aiohttp, with the platform's registry token."""

    def __init__(self, settings: ServiceSettings, *, timeout: float = _CALL_TIMEOUT) -> None:
        if not settings.registry_url:
            raise ValueError("settings.registry_url is not set")
        self._base = settings.registry_url.rstrip("/") + "/api/registry"
        self._headers = {"Authorization": f"Bearer {settings.registry_token}"}
        self._caller = settings.service_name
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def register(self, registration: Registration) -> RegisteredInstance:
        """Register (or refresh) the instance."""
        body = {
            "service": registration.service,
            "instance_id": registration.instance_id,
            "url": registration.url,
            "health_url": registration.health_url,
            "metadata": dict(registration.metadata),
        }
        return RegisteredInstance.parse(await self._call("register", "POST", "/instances", body))

    async def heartbeat(self, service: str, instance_id: str) -> bool:
        """``True`` if the registry kept the instance alive; ``False`` if it does not know it."""
        try:
            await self._call(
                "heartbeat", "PUT", f"{_instance_path(service, instance_id)}/heartbeat"
            )
        except _Unknown:
            return False
        return True

    async def deregister(
        self, service: str, instance_id: str, *, timeout: float = _DEREGISTER_TIMEOUT
    ) -> None:
        """Remove the instance (an unknown one is already gone)."""
        path = _instance_path(service, instance_id)
        with contextlib.suppress(_Unknown):
            await self._call("deregister", "DELETE", path, timeout=timeout)

    async def instances(self, service: str) -> list[RegisteredInstance]:
        """The live instances of ``service``."""
        data = await self._call("lookup", "GET", f"/services/{quote(service, safe='')}")
        if not isinstance(data, list):
            raise RegistryError("malformed answer from the registry")
        return [RegisteredInstance.parse(item) for item in data]

    async def services(self) -> dict[str, list[RegisteredInstance]]:
        """Every service with live instances."""
        data = await self._call("lookup", "GET", "/services")
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise RegistryError("malformed answer from the registry")
        return {name: [RegisteredInstance.parse(i) for i in items] for name, items in data.items()}

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(
        self, operation: str, method: str, path: str, body: Any = None, *, timeout: float = 0
    ) -> Any:
        session = self._open()
        limit = aiohttp.ClientTimeout(total=timeout) if timeout else self._timeout
        data = None if body is None else orjson.dumps(body)
        headers = self._headers if data is None else {**self._headers, **_JSON}
        try:
            async with session.request(
                method, self._base + path, data=data, headers=headers, timeout=limit
            ) as resp:
                status, payload = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._count(operation, "error")
            raise RegistryError(f"registry unreachable ({type(exc).__name__})") from None
        if status == 404:
            self._count(operation, "unknown")
            raise _Unknown("unknown to the registry")
        if status >= 400:
            self._count(operation, "error")
            raise RegistryError(f"registry answered {status}: {payload[:200]!r}")
        self._count(operation, "ok")
        try:
            return orjson.loads(payload) if payload else None
        except orjson.JSONDecodeError:
            raise RegistryError("registry answered with invalid JSON") from None

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RegistryError("registry client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    def _count(self, operation: str, outcome: str) -> None:
        REGISTRY_CALLS.labels(self._caller, operation, outcome).inc()


_JSON = {"Content-Type": "application/json"}


def _instance_path(service: str, instance_id: str) -> str:
    return f"/instances/{quote(service, safe='')}/{quote(instance_id, safe='')}"
