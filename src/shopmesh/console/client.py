"""An administrator's client of the services' operations APIs, through the gateway."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from shopmesh.launcher import SERVICES

# Every service with a database serves /api/ops (the gateway: /api/ops/<service>/).
OPERATED: tuple[str, ...] = tuple(spec.name for spec in SERVICES if spec.database)
Params = Mapping[str, str] | Sequence[tuple[str, str]] | None


class ConsoleError(Exception):
    """The gateway or a service refused or failed; the message says which and why."""


@dataclass
class Answers:
    """What each service answered to one question (``failed``: those that did not)."""

    ok: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class OpsClient:
    """Calls ``/api/ops/<service>/...`` on ``gateway`` with an administrator's ``token``."""

    def __init__(self, gateway: str, token: str, *, timeout: float = 30.0) -> None:
        self._gateway = gateway.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    @classmethod
    async def signed_in(cls, gateway: str) -> OpsClient:
        """A client with ``SHOPMESH_TOKEN``, or signed in as ``SHOPMESH_ADMIN_USERNAME`` /
        ``SHOPMESH_ADMIN_PASSWORD`` (the development admin by default)."""
        token = os.environ.get("SHOPMESH_TOKEN")
        if not token:
            credentials = {
                "username": os.environ.get("SHOPMESH_ADMIN_USERNAME", "admin"),
                "password": os.environ.get("SHOPMESH_ADMIN_PASSWORD", "admin12345"),
            }
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{gateway.rstrip('/')}/api/auth/login", json=credentials) as answer,
            ):
                body = await answer.json(content_type=None)
                if answer.status != 200:
                    raise ConsoleError(f"sign-in refused: {body.get('error', answer.status)}")
                token = str(body["token"])
        return cls(gateway, token)

    async def close(self) -> None:
        await self._session.close()

    async def call(
        self, service: str, method: str, path: str, *, params: Params = None, json: Any = None
    ) -> tuple[int, Any]:
        """One request to ``service``'s operations API: its status and JSON body."""
        url = f"{self._gateway}/api/ops/{service}{path}"
        try:
            async with self._session.request(
                method, url, params=params, json=json, headers=self._headers
            ) as answer:
                return answer.status, await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ConsoleError(f"{service}: no answer ({type(exc).__name__})") from None

    async def get(self, service: str, path: str, *, params: Params = None) -> Any:
        status, body = await self.call(service, "GET", path, params=params)
        if status != 200:
            raise ConsoleError(f"{service}: {_error(body, status)}")
        return body

    async def post(self, service: str, path: str, *, json: Any = None) -> Any:
        status, body = await self.call(service, "POST", path, json=json)
        if status != 200:
            raise ConsoleError(f"{service}: {_error(body, status)}")
        return body

    async def each(
        self, path: str, *, params: Params = None, services: Sequence[str] = OPERATED
    ) -> Answers:
        """``GET path`` of every service in ``services`` at once."""

        async def one(service: str) -> tuple[str, Any, str | None]:
            try:
                return service, await self.get(service, path, params=params), None
            except ConsoleError as exc:
                return service, None, str(exc)

        answers = Answers()
        for service, body, error in await asyncio.gather(*(one(s) for s in services)):
            if error is None:
                answers.ok[service] = body
            else:
                answers.failed[service] = error
        return answers


def _error(body: Any, status: int) -> str:
    if isinstance(body, dict) and "error" in body:
        return f"{body['error']} ({status} {body.get('code', '')})"
    return f"HTTP {status}"
