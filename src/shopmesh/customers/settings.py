"""Customers settings: ``CUSTOMERS_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything customers reads from the environment (``CUSTOMERS_`` prefix)."""

    model_config = SettingsConfigDict(
        env_prefix="CUSTOMERS_", extra="ignore", populate_by_name=True
    )

    service_name: str = "customers"
    port: int = 8084
    # Where auth publishes user.registered, and the consumer group whose progress customers keeps.
    user_events_topic: str = "user-events"
    group_id: str = "customers"
