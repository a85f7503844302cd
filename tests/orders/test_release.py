"""A reservation products cannot release now (it or its database is down) is released later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shopmesh.kit.errors import NotFound, ServiceUnavailable
from shopmesh.orders.remote import PendingReleases, ProductsClient, release
from tests.support import wait_for

PATH = "/api/products/reservations/{}/release"


class FlakyClient:
    """The service client as products answers release calls: ``failures`` of the calls of
    ``failing`` (every reference when None) find it unavailable, then it takes them."""

    def __init__(
        self, failures: int, *, error: Exception | None = None, failing: str | None = None
    ) -> None:
        self.failures = failures
        self.error = error or ServiceUnavailable("products is unavailable")
        self.failing = failing
        self.calls: list[str] = []

    async def call(self, service: str, method: str, path: str, **_: Any) -> Any:
        self.calls.append(path)
        if self.failures and (self.failing is None or self.failing in path):
            self.failures -= 1
            raise self.error
        return {"released": True}


def products_over(client: FlakyClient) -> ProductsClient:
    return ProductsClient(client)  # type: ignore[arg-type]


async def after_the_queue(pending: PendingReleases, client: FlakyClient) -> None:
    """Queue one more release that products takes and wait until it was made: anything the
    loop would still do for earlier references was queued before it (first in, first out)."""
    pending.add("r-last")

    async def done() -> bool:
        return PATH.format("r-last") in client.calls

    await wait_for(done, what="the release queued last")


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
    client = FlakyClient(failures=3)
    products = products_over(client)
    pending = PendingReleases(products, backoff=0.01)
    await release(products, ["r-1"], pending=pending)
    assert client.calls == [PATH.format("r-1")]  # the request does not wait for products
    assert len(pending) == 1
    start(pending, running)

    async def calls() -> int:
        return len(client.calls)

    await wait_for(calls, until=lambda n: n == 4, what="released on the fourth try")
    await after_the_queue(pending, client)
    assert client.calls == [PATH.format("r-1")] * 4 + [PATH.format("r-last")]


async def test_a_pending_release_is_given_up_after_its_bound(
    running: list[asyncio.Task[None]],
) -> None:
    client = FlakyClient(failures=10**6, failing="r-2")
    products = products_over(client)
    pending = PendingReleases(products, retry_for=0.05, backoff=0.01)
    start(pending, running)
    await release(products, ["r-2"], pending=pending)
    await wait_for(lambda: asyncio.sleep(0, len(pending)), until=lambda n: n == 0, what="given up")
    tries = len(client.calls)
    await after_the_queue(pending, client)
    assert tries >= 2
    assert client.calls[tries:] == [PATH.format("r-last")]  # nothing more for r-2


async def test_a_refusal_is_not_retried() -> None:
    client = FlakyClient(failures=1, error=NotFound("no such reservation"))
    products = products_over(client)
    pending = PendingReleases(products)
    await release(products, ["r-3"], pending=pending)
    assert len(pending) == 0
    assert len(client.calls) == 1
