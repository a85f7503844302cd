"""Payments settings: ``PAYMENTS_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings
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
    # Where orders announces its orders (charged on order.created, voided on order.cancelled),
    # and the consumer group whose progress payments keeps there.
    order_events_topic: str = "order-events"
    group_id: str = Field("payments", min_length=1, max_length=100)

    def limit_policy(self) -> LimitPolicy:
        return LimitPolicy(limit=self.limit, scope=self.limit_scope)
