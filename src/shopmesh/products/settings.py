"""Products settings: ``PRODUCTS_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from pydantic import Field
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
    # Seconds Kafka may gather order events before handing them to products (0: each at once).
    # Products uses few of them (a release per declined or cancelled order) but the topic
    # carries three per order, a fetch (a round trip) each; a wait saves most of those
    # fetches, and the released stock shows that much later.
    order_events_fetch_wait: float = Field(default=0.0, ge=0, le=5)
