"""The products and customers services as orders calls them (through the kit's client).

:class:`ProductsClient` and :class:`CustomersClient` are orders' ports to the
two services (tests give the use cases fakes of them). Reservations are part
of placing an order, so their refusals reach the client; the look-ups that
decorate a list (product, customer) are best effort and never fail a read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, TypeVar

from shopmesh.kit.client import ServiceClient
from shopmesh.kit.errors import AppError, ServiceUnavailable
from shopmesh.orders.domain import OrderLine

log = logging.getLogger(__name__)
T = TypeVar("T")

# Refusals of a reservation the customer should hear about as they are (the contract's,
# and a validation refusal); any other 4xx means products refused *us*.
_PASSED_ON = frozenset({"out_of_stock", "product_not_found", "validation_error"})


class UpstreamRefused(AppError):
    status, code = 502, "upstream_refused"


class ProductsClient:
    """The products service as orders calls it."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def reserve(self, lines: Sequence[OrderLine], references: Sequence[str]) -> Any:
        """Reserve every line at once (all or none); returns products' answer as it came.

        Idempotent per ``reservation_id`` at products, so the kit may retry it on
        another instance.
        """
        body = {
            "lines": [
                {"reservation_id": ref, "product_id": line.product_id, "quantity": line.quantity}
                for line, ref in zip(lines, references, strict=True)
            ]
        }
        try:
            return await self._client.call(
                "products", "POST", "/api/products/reservations", json=body, idempotent=True
            )
        except AppError as exc:
            if exc.status >= 500 or exc.code in _PASSED_ON:
                raise
            log.error("products refused a reservation: %s %s", exc.status, exc.code)
            raise UpstreamRefused("products refused to reserve the stock") from None

    async def try_release(self, reference: str, *, last: bool) -> bool:
        """Give one reservation's stock back: True when done (released, refused for good, or
        given up), False to try again later."""
        path = f"/api/products/reservations/{reference}/release"
        try:
            await self._client.call("products", "POST", path, idempotent=True)
        except ServiceUnavailable as exc:
            if last:
                log.error("gave up releasing reservation %s: %s", reference, exc)
                return True
            log.warning("could not release reservation %s yet, will retry: %s", reference, exc)
            return False
        except Exception as exc:
            log.warning("could not release reservation %s: %s", reference, exc)
        return True

    async def by_ids(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The products named by ``ids``, from one call to the products service."""
        wanted = sorted(set(ids))
        # Deactivated products too: an old order still names its product (services may see them).
        params = {"ids": ",".join(map(str, wanted)), "include_inactive": "true"}
        answer = await self._client.call("products", "GET", "/api/products", params=params)
        items = answer.get("items", []) if isinstance(answer, dict) else answer
        if not isinstance(items, list):
            return {}
        return {
            item["id"]: item
            for item in items
            if isinstance(item, dict) and isinstance(item.get("id"), int) and item["id"] in wanted
        }


class CustomersClient:
    """The customers service as orders calls it."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def profile(self, authorization: str) -> dict[str, Any] | None:
        """The caller's customer profile, asked for with the caller's own token."""
        answer = await self._client.call(
            "customers", "GET", "/api/customers/me", authorization=authorization
        )
        return answer if isinstance(answer, dict) else None


class PendingReleases:
    """Releases products could not take yet (it, or its database, was unavailable).

    :meth:`run` (a background task of the service) retries them with a growing
    pause for up to ``retry_for`` seconds each, so a restart of products does not
    leave stock reserved for an order that was never made. Releasing is idempotent
    at products. What is still pending when the process stops is not kept.
    """

    def __init__(
        self, products: ProductsClient, *, retry_for: float = 600.0, backoff: float = 0.5
    ) -> None:
        self._products = products
        self._retry_for = retry_for
        self._backoff = backoff
        self._queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    def add(self, reference: str) -> None:
        self._queue.put_nowait((reference, time.monotonic() + self._retry_for))

    def __len__(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        pause = self._backoff
        while True:
            reference, deadline = await self._queue.get()
            last = time.monotonic() >= deadline
            if await self._products.try_release(reference, last=last):
                pause = self._backoff
                continue
            self._queue.put_nowait((reference, deadline))
            await asyncio.sleep(pause)  # products is away: don't spin
            pause = min(pause * 2, 10.0)


async def release(
    products: ProductsClient,
    references: Iterable[str],
    *,
    pending: PendingReleases | None = None,
) -> None:
    """Give reserved stock back; never raises.

    A release products cannot take now goes to ``pending`` (retried in the
    background) when given, else it is only logged.
    """

    async def release_one(reference: str) -> None:
        done = await products.try_release(reference, last=pending is None)
        if not done and pending is not None:
            pending.add(reference)

    await asyncio.gather(*(release_one(ref) for ref in references))


async def at_most(call: Awaitable[T], *, timeout: float, what: str) -> T | None:
    """``call``'s result, or ``None`` when it fails or takes longer than ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await call
    except AppError as exc:
        if exc.status >= 500:
            log.warning("%s unavailable: %s", what, exc.code)
        return None
    except Exception as exc:
        log.warning("%s unavailable: %s", what, type(exc).__name__)
        return None
