"""Settings shared by every service.

Each service subclasses :class:`ServiceSettings` with its own env prefix
(``PAYMENTS_``); the platform-wide values keep their ``SHOPMESH_`` names
whatever the prefix, so one environment configures every process.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AliasChoices, BeforeValidator, Field, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopmesh.kit.kafka import NAMESPACE_PATTERN, KafkaNamespace

# Development-only default; production mode refuses it (see _refuse_placeholder_secrets).
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"  # noqa: S105
DEV_REGISTRY_TOKEN = "dev-only-registry-token-change-me-in-production"  # noqa: S105
PLACEHOLDER_SECRETS = frozenset({"", "change-me", DEV_JWT_SECRET, DEV_REGISTRY_TOKEN, "admin12345"})

# Where each service listens by default (DESIGN.md's port table); deployments override
# them with SHOPMESH_SERVICE_URLS or use the registry.
DEFAULT_SERVICE_URLS: dict[str, str] = {
    "gateway": "http://127.0.0.1:8080",
    "auth": "http://127.0.0.1:8081",
    "payments": "http://127.0.0.1:8082",
    "analytics": "http://127.0.0.1:8083",
    "customers": "http://127.0.0.1:8084",
    "products": "http://127.0.0.1:8085",
    "orders": "http://127.0.0.1:8086",
    "dispatcher": "http://127.0.0.1:8087",
    "registry": "http://127.0.0.1:9999",
}


def _seconds_or_duration(value: Any) -> Any:
    # From the environment every value is a string: "86400" means seconds, as a number
    # would; anything else (an ISO 8601 duration, "P7D") goes to pydantic as it is.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


# An age or a period in settings: seconds ("86400") or an ISO 8601 duration ("P1D").
Age = Annotated[timedelta, BeforeValidator(_seconds_or_duration), Field(ge=timedelta(0))]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def shared(default: Any, name: str) -> Any:
    """A field read from ``SHOPMESH_<NAME>`` whatever the service's own prefix."""
    return Field(default, validation_alias=AliasChoices(f"SHOPMESH_{name}", name.lower()))


class ServiceSettings(BaseSettings):
    """What every service needs; subclass it and set ``service_name``."""

    # hide_input_in_errors: a refused setting must not print the (secret) values it was given.
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Environment = shared(Environment.DEVELOPMENT, "ENV")
    log_level: str = shared("INFO", "LOG_LEVEL")
    data_dir: Path = shared(Path(".data/up"), "DATA_DIR")
    database_url: str | None = None
    database_url_template: str | None = shared(None, "DATABASE_URL_TEMPLATE")
    # Connections kept (opened as first needed), and how many more may be opened when
    # they are all busy and closed when returned; see kit.db.create_engine.
    database_pool_size: int = shared(20, "DATABASE_POOL_SIZE")
    database_max_overflow: int = shared(0, "DATABASE_MAX_OVERFLOW")
    # Seconds a starting service waits for its database to answer before it gives up.
    database_start_timeout: float = shared(60.0, "DATABASE_START_TIMEOUT")
    kafka_bootstrap: str = shared("127.0.0.1:9092", "KAFKA_BOOTSTRAP")
    kafka_enabled: bool = shared(True, "KAFKA_ENABLED")
    # Several deployments on one Kafka cluster: each its own namespace (kit.kafka.KafkaNamespace).
    kafka_namespace: Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN)] = shared(
        "", "KAFKA_NAMESPACE"
    )
    # Replication factor of the topics a service creates: 1 for one local broker,
    # 3 on a cluster (with the brokers' min.insync.replicas=2, acks=all survives a lost node).
    kafka_replication: int = shared(1, "KAFKA_REPLICATION")
    jwt_secret: str = shared(DEV_JWT_SECRET, "JWT_SECRET")
    jwt_issuer: str = shared("shopmesh-auth", "JWT_ISSUER")
    outbox_batch_size: int = shared(500, "OUTBOX_BATCH_SIZE")
    outbox_poll_interval: float = shared(0.5, "OUTBOX_POLL_INTERVAL")
    # Retention (kit.retention): a pass every retention_interval seconds (0: none) deletes,
    # retention_batch_size rows per statement, published outbox rows older than
    # outbox_retention and consumers' dedup records older than processed_event_retention
    # (longer than the topics keep events: see ensure_topics).
    retention_interval: float = shared(60.0, "RETENTION_INTERVAL")
    retention_batch_size: int = shared(500, "RETENTION_BATCH_SIZE")
    outbox_retention: Age = shared(timedelta(days=1), "OUTBOX_RETENTION")
    processed_event_retention: Age = shared(timedelta(days=7), "PROCESSED_EVENT_RETENTION")
    # How long a service that honours Idempotency-Key (payments, orders) keeps a key's answer.
    idempotency_retention: Age = shared(timedelta(hours=24), "IDEMPOTENCY_RETENTION")
    consumer_max_attempts: int = shared(3, "CONSUMER_MAX_ATTEMPTS")
    consumer_retry_backoff: float = shared(0.2, "CONSUMER_RETRY_BACKOFF")
    # How long shutdown waits for background tasks (relay, consumers) to end.
    shutdown_timeout: float = shared(10.0, "SHUTDOWN_TIMEOUT")
    # Seconds an idle client connection stays open (<SERVICE>_KEEPALIVE_TIMEOUT). A
    # service's clients are the gateway's pools, which drop idle connections sooner
    # (GATEWAY_UPSTREAM_KEEPALIVE, 4 s), so they never send on one being closed.
    keepalive_timeout: int = Field(5, ge=1)
    service_urls: dict[str, str] = shared(DEFAULT_SERVICE_URLS, "SERVICE_URLS")
    service_call_timeout: float = shared(5.0, "SERVICE_CALL_TIMEOUT")
    registry_url: str | None = shared(None, "REGISTRY_URL")
    registry_token: str = shared(DEV_REGISTRY_TOKEN, "REGISTRY_TOKEN")
    registry_heartbeat_interval: float = shared(10.0, "REGISTRY_HEARTBEAT_INTERVAL")
    # The host other processes reach this one at (registered in the registry).
    advertise_host: str | None = shared(None, "ADVERTISE_HOST")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def namespace(self) -> KafkaNamespace:
        """Where this deployment's topics and consumer groups are on the broker."""
        return KafkaNamespace(self.kafka_namespace)

    @property
    def db_url(self) -> str:
        """The service's database: its own URL, the shared template, or a SQLite file."""
        if self.database_url:
            return self.database_url
        if self.database_url_template:
            return self.database_url_template.format(service=self.service_name)
        path = (self.data_dir / f"{self.service_name}.db").resolve()
        return f"sqlite+aiosqlite:///{path}"

    def secrets(self) -> dict[str, str]:
        """Secret settings by name; production refuses placeholders for these."""
        secrets = {"SHOPMESH_JWT_SECRET": self.jwt_secret}
        if self.registry_url:
            secrets["SHOPMESH_REGISTRY_TOKEN"] = self.registry_token
        return secrets

    @property
    def advertised_url(self) -> str:
        """This instance's base URL as other processes should call it."""
        return f"http://{self.advertise_host or self.host}:{self.port}"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Self:
        if self.is_production:
            weak = [name for name, value in self.secrets().items() if _is_weak(value)]
            if weak:
                raise ValueError(
                    "production mode refuses placeholder or short (< 32 characters) secrets: "
                    + ", ".join(weak)
                )
        return self


def _is_weak(value: str) -> bool:
    return value in PLACEHOLDER_SECRETS or len(value) < 32
