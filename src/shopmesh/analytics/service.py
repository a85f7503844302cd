"""Use cases: fold transaction events into the totals, read the totals."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shopmesh.analytics.domain import Stats, TransactionEvent, UserStats
from shopmesh.analytics.repository import AnalyticsUnitOfWork


async def record_events(uow: AnalyticsUnitOfWork, events: Sequence[TransactionEvent]) -> None:
    """Fold ``events`` into the totals, in the consumer's unit of work (its events' ids are
    recorded in the same one)."""
    await uow.stats.add([event.delta() for event in events])


class StatsService:
    """What analytics answers, each read in a unit of work from ``units``."""

    def __init__(self, units: Callable[[], AnalyticsUnitOfWork]) -> None:
        self._units = units

    async def totals(self) -> Stats:
        """The platform-wide totals."""
        async with self._units() as uow:
            return await uow.stats.totals()

    async def users(self, *, limit: int, offset: int) -> list[UserStats]:
        """Per-user totals, largest amount first."""
        async with self._units() as uow:
            return await uow.stats.users(limit=limit, offset=offset)
