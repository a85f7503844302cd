"""A reservation products cannot release now (it or its database is down) is released later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shopmesh.kit.errors import NotFound, ServiceUnavailable
from shopmesh.orders.remote import PendingReleases, release
from tests.support import wait_for

PATH = "/api/products/reservations/{}/release"


class FlakyProducts:
    """Answers release calls, after ``failures`` of them found it unavailable."""

    def __init__(self, failures: int, *, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ServiceUnavailable("products is unavailable")
        self.calls: list[str] = []

    async def call(self, service: str, method: str, path: str, **_: Any) -> Any:
        self.calls.append(path)
        if self.failures:
            self.failures -= 1
            raise self.error
        return {"released": True}


@pytest.fixture
async def running() -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks: list[asyncio.Task[None]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def start(pending: PendingReleases, running: list[asyncio.Task[None]]) -> None:
    running.append(asyncio.create_task(pending.run()))


async def test_a_release_products_cannot_take_now_is_retried_until_it_is_taken(
    running: list[asyncio.Task[None]],
) -> None:
    products = FlakyProducts(failures=3)
    pending = PendingReleases(products, backoff=0.01)  # type: ignore[arg-type]
    await release(products, ["r-1"], pending=pending)  # type: ignore[arg-type]
    assert products.calls == [PATH.format("r-1")]  # the request does not wait for products
    assert len(pending) == 1
    start(pending, running)

    async def calls() -> int:
        return len(products.calls)

    await wait_for(calls, until=lambda n: n == 4, what="released on the fourth try")
    await wait_for(lambda: asyncio.sleep(0, len(pending)), until=lambda n: n == 0)
    await asyncio.sleep(0.05)  # the pause a further retry would come after
    assert len(products.calls) == 4


async def test_a_pending_release_is_given_up_after_its_bound(
    running: list[asyncio.Task[None]],
) -> None:
    products = FlakyProducts(failures=10**6)
    pending = PendingReleases(products, retry_for=0.05, backoff=0.01)  # type: ignore[arg-type]
    start(pending, running)
    await release(products, ["r-2"], pending=pending)  # type: ignore[arg-type]
    await wait_for(lambda: asyncio.sleep(0, len(pending)), until=lambda n: n == 0, what="given up")
    tries = len(products.calls)
    await asyncio.sleep(0.1)
    assert len(products.calls) == tries >= 2


async def test_a_refusal_is_not_retried() -> None:
    products = FlakyProducts(failures=1, error=NotFound("no such reservation"))
    pending = PendingReleases(products)  # type: ignore[arg-type]
    await release(products, ["r-3"], pending=pending)  # type: ignore[arg-type]
    assert len(pending) == 0
    assert len(products.calls) == 1
