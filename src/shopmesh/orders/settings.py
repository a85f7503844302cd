"""Orders settings: ``ORDERS_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything orders reads from the environment (``ORDERS_`` prefix).

    Products' and customers' base URLs come from the kit's ``service_urls``.
    """

    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", populate_by_name=True)

    service_name: str = "orders"
    port: int = 8086
    # Seconds between keep-alive comments on an idle status stream (ORDERS_STREAM_KEEPALIVE).
    stream_keepalive: float = Field(15.0, gt=0, le=3600)
    # Changes a stream may have waiting before its reader counts as too slow and is dropped.
    stream_queue_size: int = Field(100, ge=1, le=100_000)
    # How long a list waits for products / customers before showing the orders without them.
    lookup_timeout: float = Field(2.0, gt=0, le=60)
    # Seconds after which stock reserved for an order that was never recorded is given
    # back (longer than any order request lasts), and how often that is looked for.
    reservation_grace: float = Field(60.0, gt=0, le=86400)
    reaper_interval: float = Field(10.0, gt=0, le=3600)
    # Orders are paid (payments charges order.created) before the dispatcher ships them
    # (order.paid); false restores the commerce seed's flow: dispatched on order.created.
    require_payment: bool = True
    # Where payments announces payment.authorized / payment.declined.
    payment_events_topic: str = "payment-events"
    # The durable consumer's group, and the live listeners' prefix (each process
    # listens as "<prefix>-<random>", so every instance hears every event).
    group_id: str = "orders"
    live_group_prefix: str = "orders-live"
