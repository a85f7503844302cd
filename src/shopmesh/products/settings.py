"""Products settings: ``PRODUCTS_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything products reads from the environment (``PRODUCTS_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="PRODUCTS_", extra="ignore", populate_by_name=True)

    service_name: str = "products"
    port: int = 8085
    # Where orders publishes order.cancelled, and the consumer group whose progress products keeps.
    order_events_topic: str = "order-events"
    group_id: str = "products"
