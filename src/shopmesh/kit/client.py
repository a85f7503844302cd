"""Calls from one service to another, over HTTP, the platform's way.

The caller's request id and trace context travel along; the call carries a
short-lived service token (or the user's own token when acting for them).
A 4xx answer keeps its status, code and message (the callee already said
what is wrong); an unreachable or failing service becomes a 503.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

import aiohttp
import orjson

from shopmesh.kit.errors import AppError, ServiceUnavailable
from shopmesh.kit.jwt import SERVICE_ROLE, Principal, issue_token
from shopmesh.kit.logging import request_id_var, traceparent_var
from shopmesh.kit.settings import ServiceSettings

log = logging.getLogger(__name__)
_TOKEN_TTL = timedelta(minutes=15)
_RETRYABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Resolver(Protocol):
    """Finds the base URLs of a service's instances."""

    async def urls(self, service: str) -> list[str]: ...


class StaticResolver:
    """Base URLs from settings (``SHOPMESH_SERVICE_URLS``, or Kubernetes service names)."""

    def __init__(self, urls: Mapping[str, str | list[str]]) -> None:
        self._urls = {
            name: [value] if isinstance(value, str) else list(value) for name, value in urls.items()
        }

    async def urls(self, service: str) -> list[str]:
        return list(self._urls.get(service, []))


class ServiceClient:
    """An aiohttp session shared by a service's calls to the others."""

    def __init__(self, settings: ServiceSettings, resolver: Resolver) -> None:
        self._settings = settings
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._token: tuple[str, float] | None = None
        self._turn = itertools.count()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        authorization: str | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call ``service`` and return its JSON answer; raise ``AppError`` for its refusals.

        ``authorization`` forwards a user's header; without it the call carries
        a service token. A request that is ``idempotent`` (by default GET, PUT,
        DELETE...) is tried once more on another instance when one is unreachable.
        """
        urls = await self._resolver.urls(service)
        if not urls:
            raise ServiceUnavailable(f"{service} is unavailable", code="service_unavailable")
        retry = method.upper() in _RETRYABLE_METHODS if idempotent is None else idempotent
        start = next(self._turn)
        attempts = [urls[(start + i) % len(urls)] for i in range(min(len(urls), 2 if retry else 1))]
        headers = self._headers(authorization)
        body = None if json is None else orjson.dumps(json)
        for attempt, base in enumerate(attempts, start=1):
            try:
                return await self._send(method, base + path, headers, body, params, service)
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                log.warning("call to %s failed: %s", service, type(exc).__name__)
                if attempt == len(attempts):
                    raise ServiceUnavailable(f"{service} is unavailable") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        params: Mapping[str, str] | None,
        service: str,
    ) -> Any:
        session = self._open()
        async with session.request(method, url, data=body, headers=headers, params=params) as resp:
            payload = await resp.read()
            if resp.status < 400:
                return orjson.loads(payload) if payload else None
            raise _refusal(service, resp.status, payload)

    def _headers(self, authorization: str | None) -> dict[str, str]:
        headers = {"Authorization": authorization or f"Bearer {self._service_token()}"}
        headers["Content-Type"] = "application/json"
        request_id, traceparent = request_id_var.get(), traceparent_var.get()
        if request_id:
            headers["X-Request-ID"] = request_id
        if traceparent:
            headers["traceparent"] = traceparent
        return headers

    def _service_token(self) -> str:
        now = time.monotonic()
        if self._token is None or self._token[1] < now:
            principal = Principal(0, self._settings.service_name, SERVICE_ROLE)
            token = issue_token(
                principal,
                secret=self._settings.jwt_secret,
                issuer=self._settings.jwt_issuer,
                ttl=_TOKEN_TTL,
            )
            self._token = (token, now + _TOKEN_TTL.total_seconds() / 2)
        return self._token[0]

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._settings.service_call_timeout)
            self._session = aiohttp.ClientSession(
                timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session


def _refusal(service: str, status: int, payload: bytes) -> AppError:
    if status >= 500:
        return ServiceUnavailable(f"{service} failed to answer", code="service_unavailable")
    try:
        body = orjson.loads(payload)
        message, code = str(body["error"]), str(body["code"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message, code = f"{service} refused the request", "upstream_refused"
    return AppError(message, code=code, status=status, details=_details(payload))


def _details(payload: bytes) -> Any:
    try:
        return orjson.loads(payload).get("details")
    except (orjson.JSONDecodeError, AttributeError):
        return None
