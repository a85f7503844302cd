"""Payments settings: ``PAYMENTS_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings, shared
from shopmesh.payments.domain import DEFAULT_LIMIT, MAX_AMOUNT, LimitPolicy, LimitScope


class Settings(ServiceSettings):
    """Everything payments reads from the environment (``PAYMENTS_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore", populate_by_name=True)

    service_name: str = "payments"
    port: int = 8082
    # The most a user's transactions may add up to (PAYMENTS_LIMIT).
    limit: Decimal = Field(DEFAULT_LIMIT, gt=0, le=MAX_AMOUNT, decimal_places=2)
    # "all": every transaction counts, as in the seed; "unpaid": only the unpaid balance.
    limit_scope: LimitScope = LimitScope.ALL
    # No overflow connections: a charge holds its connection for one statement, so the
    # pool serves any number of concurrent requests, while overflow connections opened
    # and closed under load cost a new PostgreSQL connection every few requests.
    database_max_overflow: int | None = shared(0, "DATABASE_MAX_OVERFLOW")

    def limit_policy(self) -> LimitPolicy:
        return LimitPolicy(limit=self.limit, scope=self.limit_scope)
