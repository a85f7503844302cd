"""HTTP: the public totals and the admin's per-user breakdown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from shopmesh.analytics.domain import Stats, UserStats
from shopmesh.analytics.service import StatsService
from shopmesh.kit.app import AdminUser, Dependency
from shopmesh.kit.validation import MoneyNumber as Money
from shopmesh.kit.validation import Offset

StatsDependency = Dependency[StatsService]("stats")
Totals = Annotated[StatsService, Depends(StatsDependency)]

router = APIRouter(tags=["analytics"])


class StatsPublic(BaseModel):
    """Totals over every transaction event analytics has applied."""

    total_transactions: int
    total_amount: Money
    total_paid_transactions: int
    events_processed: int
    unique_users: int
    last_event_time: datetime | None

    @classmethod
    def of(cls, stats: Stats) -> StatsPublic:
        return cls(
            total_transactions=stats.total_transactions,
            total_amount=stats.total_amount,
            total_paid_transactions=stats.total_paid_transactions,
            events_processed=stats.events_processed,
            unique_users=stats.unique_users,
            last_event_time=stats.last_event_time,
        )


class UserStatsPublic(BaseModel):
    """One user's transactions, amount and paid transactions."""

    user_id: int
    transactions: int
    amount: Money
    paid_transactions: int
    last_event_time: datetime | None

    @classmethod
    def of(cls, user: UserStats) -> UserStatsPublic:
        return cls(
            user_id=user.user_id,
            transactions=user.transactions,
            amount=user.amount,
            paid_transactions=user.paid_transactions,
            last_event_time=user.last_event_time,
        )


@router.get("/api/analytics/stats")
async def read_stats(totals: Totals) -> StatsPublic:
    """Platform-wide totals: transactions, amount, paid transactions, events, users."""
    return StatsPublic.of(await totals.totals())


@router.get("/stats")
async def read_stats_seed_path(totals: Totals) -> StatsPublic:
    """The same totals at the path the payments seed's clients call on the analytics port."""
    return StatsPublic.of(await totals.totals())


@router.get("/api/analytics/users")
async def list_users(
    totals: Totals,
    _admin: AdminUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[UserStatsPublic]:
    """Per-user totals for administrators, largest amount first (ties by user id)."""
    users = await totals.users(limit=limit, offset=offset)
    return [UserStatsPublic.of(user) for user in users]
