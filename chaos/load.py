"""Load through the gateway: users, products, concurrent requests, and a tally of the answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

# A request that takes longer than this counts as failed (the gateway's own timeout is 30 s).
REQUEST_TIMEOUT = 40.0
# No answer (0), or the gateway could not reach or use the service.
_RETRYABLE = frozenset({0, 502, 503, 504})


@dataclass
class Tally:
    """What the clients saw: requests sent, acknowledged (2xx) and failed, with why."""

    sent: int = 0
    acked: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    # Failures whose body was not the platform's JSON error shape (or carried a trace).
    unclean: list[str] = field(default_factory=list)
    # Attempts that failed and were tried again (only where a scenario lets clients retry).
    retried: Counter[str] = field(default_factory=Counter)
    # Set after every answer: lets the fault injector wait for progress without polling.
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def done(self) -> int:
        return self.acked + sum(self.failed.values())

    def merge(self, other: Tally) -> None:
        self.sent += other.sent
        self.acked += other.acked
        self.failed.update(other.failed)
        self.unclean.extend(other.unclean)
        self.retried.update(other.retried)


@dataclass(frozen=True)
class User:
    id: int
    username: str
    token: str


class Api:
    """JSON calls to the gateway, tallied."""

    def __init__(self, session: aiohttp.ClientSession, base: str, tally: Tally) -> None:
        self.session = session
        self.base = base
        self.tally = tally

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        key: str | None = None,
        count: bool = True,
        retry_for: float = 0.0,
    ) -> tuple[int, Any]:
        """One request; ``(status, body)``, status 0 when no answer came (the reason is tallied).

        With ``retry_for``, an attempt that got no answer or a 502/503/504 is tried again
        (with the same Idempotency-Key) for up to that many seconds, as a real client would.
        """
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        if count:
            self.tally.sent += 1
        deadline = time.monotonic() + retry_for
        while True:
            status, raw, reason = await self._attempt(method, path, json=json, headers=headers)
            if not (count and status in _RETRYABLE and time.monotonic() < deadline):
                break
            self.tally.retried[reason] += 1
            await asyncio.sleep(0.25)
        body = _json_or_none(raw)
        if count:
            self._record(status, raw, body, reason)
            self.tally.answered.set()
        return status, body

    async def _attempt(
        self, method: str, path: str, *, json: Any, headers: dict[str, str]
    ) -> tuple[int, bytes, str]:
        try:
            async with self.session.request(
                method,
                self.base + path,
                json=json,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return 0, b"", type(exc).__name__
        body = _json_or_none(raw)
        code = body.get("code") if isinstance(body, dict) else None
        return status, raw, f"HTTP {status} {code or 'no JSON code'}"

    def _record(self, status: int, raw: bytes, body: Any, reason: str) -> None:
        if 200 <= status < 300:
            self.tally.acked += 1
            return
        self.tally.failed[reason] += 1
        if status == 0:
            return
        code = body.get("code") if isinstance(body, dict) else None
        clean = isinstance(body, dict) and isinstance(body.get("error"), str) and code
        if not clean or b"Traceback" in raw or b'File "' in raw:
            self.tally.unclean.append(f"{status}: {raw[:200]!r}")


def _json_or_none(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


async def register_users(api: Api, count: int, *, run: str) -> list[User]:
    """``count`` new users (not tallied: set-up, not load)."""

    async def one(i: int) -> User:
        name = f"chaos-{run}-{i}"
        body = {"username": name, "password": "chaos-password-0123456789"}
        status, answer = await api.call("POST", "/auth/register", json=body, count=False)
        if status != 201:
            raise RuntimeError(f"register {name}: {status} {answer}")
        return User(int(answer["id"]), name, str(answer["token"]))

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def login(api: Api, username: str, password: str) -> str:
    body = {"username": username, "password": password}
    status, answer = await api.call("POST", "/auth/login", json=body, count=False)
    if status != 200:
        raise RuntimeError(f"login {username}: {status}")
    return str(answer["token"])


async def add_products(api: Api, admin_token: str, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        body = {
            "name": f"Chaos kettle {uuid.uuid4().hex[:6]}",
            "description": "Boils water under stress",
            "price": 1.00,
            "currency": "USD",
            "stock_quantity": 1_000_000,
            "category": "kitchen",
            "brand": "Acme",
            "sku": f"CHAOS-{uuid.uuid4().hex[:12]}",
        }
        status, product = await api.call(
            "POST", "/api/products", admin_token, json=body, count=False
        )
        if status != 201:
            raise RuntimeError(f"add product: {status} {product}")
        ids.append(int(product["id"]))
    return ids


async def wait_for_profiles(api: Api, users: list[User], *, timeout: float = 60.0) -> None:
    """Each user's customer profile exists (created from ``user.registered``)."""
    deadline = time.monotonic() + timeout
    for user in users:
        while True:
            status, _ = await api.call("GET", "/api/customers/me", user.token, count=False)
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no customer profile for {user.username}")
            await asyncio.sleep(0.2)


async def drive(count: int, concurrency: int, request: Callable[[int], Awaitable[None]]) -> None:
    """Run ``request(i)`` for i in 0..count-1 with at most ``concurrency`` in flight."""
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            await request(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def until_done(tally: Tally, fraction_of: int, fraction: float) -> None:
    """Wait until ``fraction`` of ``fraction_of`` requests have been answered (or failed)."""
    target = int(fraction_of * fraction)
    while tally.done < target:
        tally.answered.clear()
        await tally.answered.wait()
