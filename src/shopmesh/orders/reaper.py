"""Gives back the stock of orders that were never recorded.

Placing an order writes a reservation intent, reserves the stock at products,
then records the order and deletes the intent in one transaction. An intent
still there after ``grace`` seconds belongs to a request that failed or to a
process that died in between (``kill -9``, OOM): its reservation is released
at products (idempotent) and the intent dropped. The intent row is locked
meanwhile, so a late request cannot record its order on released stock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from shopmesh.kit.clock import utcnow
from shopmesh.orders.remote import ProductsClient
from shopmesh.orders.repository import OrdersUnitOfWork

log = logging.getLogger(__name__)


class IntentReaper:
    """Releases the reservations of stale intents; run :meth:`run` as a background task."""

    def __init__(
        self,
        units: Callable[[], OrdersUnitOfWork],
        products: ProductsClient,
        *,
        grace: float,
        interval: float,
        batch_size: int = 100,
    ) -> None:
        self._units = units
        self._products = products
        self._grace = timedelta(seconds=grace)
        self._interval = interval
        self._batch_size = batch_size

    async def run(self) -> None:
        while True:
            try:
                await self.reap()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database or products is away: next round
                log.warning("reservation reaper paused: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self._interval)

    async def reap(self, *, now: datetime | None = None) -> int:
        """Release the stock of every stale intent products accepts now; how many."""
        before = (now or utcnow()) - self._grace
        released = 0
        async with self._units() as uow:
            references = await uow.intents.stale(before=before, limit=self._batch_size)
            for reference in references:
                if await self._products.try_release(reference, last=False):
                    await uow.intents.drop(reference)
                    released += 1
        if released:
            log.warning("released the stock of %d orders that were never recorded", released)
        return released
