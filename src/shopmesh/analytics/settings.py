"""Analytics settings: ``ANALYTICS_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything analytics reads from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="ANALYTICS_", extra="ignore", populate_by_name=True
    )

    service_name: str = "analytics"
    port: int = 8083
    # Where payments publishes, and the consumer group whose progress analytics keeps.
    topic: str = "transactions"
    group_id: str = "analytics"
