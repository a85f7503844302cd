"""Registry settings: ``REGISTRY_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the registry reads from the environment (``REGISTRY_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", populate_by_name=True)

    service_name: str = "registry"
    port: int = 9999
    # Seconds without a heartbeat after which an instance is gone (REGISTRY_TTL).
    ttl: float = Field(30.0, gt=0)
    # How often expired instances are dropped from memory; reads filter them out anyway.
    sweep_interval: float | None = Field(None, gt=0)
    max_instances: int = Field(10_000, gt=0)

    def secrets(self) -> dict[str, str]:
        # The registry token is what guards the registry itself: always a secret here.
        return super().secrets() | {"SHOPMESH_REGISTRY_TOKEN": self.registry_token}

    @property
    def sweep_every(self) -> float:
        return self.sweep_interval or min(self.ttl / 2, 5.0)
