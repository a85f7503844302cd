"""Dispatcher settings: ``DISPATCHER_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AnyHttpUrl,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict

from shopmesh.kit.settings import Age, ServiceSettings

# Development-only default; production mode refuses it (see _refuse_dev_webhook_secret).
DEV_WEBHOOK_SECRET = "dev-only-webhook-secret-change-me-in-production"  # noqa: S105

_URL = TypeAdapter(AnyHttpUrl)
MAX_URL_LENGTH = 2000  # the webhook_delivery.url column


def _url_list(value: Any) -> Any:
    """A JSON list or a comma-separated string of http(s) URLs, as given in the environment."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError("webhook_urls must be a list of URLs")
    urls = [str(url).strip() for url in value]
    for position, url in enumerate(urls, start=1):
        # Checked as http(s) URLs, kept as the exact text given: it is what gets POSTed to.
        # The error names the position only: a URL may carry credentials.
        if len(url) > MAX_URL_LENGTH:
            raise ValueError(f"webhook URL #{position} is longer than {MAX_URL_LENGTH} characters")
        try:
            _URL.validate_python(url)
        except ValidationError:
            raise ValueError(f"webhook URL #{position} is not an http(s) URL") from None
    return urls


WebhookUrls = Annotated[list[str], NoDecode, BeforeValidator(_url_list)]


class Settings(ServiceSettings):
    """Everything the dispatcher reads from the environment (``DISPATCHER_`` prefix)."""

    model_config = SettingsConfigDict(
        env_prefix="DISPATCHER_", extra="ignore", populate_by_name=True
    )

    service_name: str = "dispatcher"
    port: int = 8087
    # The consumer group whose progress on order-events the dispatcher keeps.
    group_id: str = Field("dispatcher", min_length=1, max_length=100)
    # Seconds between an order being paid (or created, when no payment is required) and its
    # dispatch: warehouse time, long enough for a person to cancel. Benchmarks set 0.
    handling_delay: float = Field(10.0, ge=0, le=86400 * 30)
    # The dispatch loop sleeps until the next pending shipment is due, woken by new ones
    # due sooner; at least this often it looks anyway (another instance's, a crash's).
    poll_interval: float = Field(1.0, gt=0, le=60)
    batch_size: int = Field(50, ge=1, le=1000)
    # Where order.dispatched is POSTed (comma-separated or a JSON list).
    webhook_urls: WebhookUrls = Field(default_factory=list)
    webhook_secret: str = DEV_WEBHOOK_SECRET
    webhook_timeout: float = Field(5.0, gt=0, le=300)
    # Retry delays: backoff, 2*backoff, 4*backoff... never more than backoff_max.
    webhook_backoff: float = Field(1.0, ge=0, le=3600)
    webhook_backoff_max: float = Field(300.0, ge=0, le=86400)
    webhook_max_attempts: int = Field(5, ge=1, le=100)
    # How long a delivered webhook's row is kept (failed ones stay for the admins' retry).
    webhook_retention: Age = timedelta(days=7)
    # How many webhook calls may be in flight at once (a slow receiver holds only its own).
    webhook_concurrency: int = Field(16, ge=1, le=1000)
    # Like poll_interval, for the webhook calls (retries are due at their backoff).
    webhook_poll_interval: float = Field(1.0, gt=0, le=60)

    def secrets(self) -> dict[str, str]:
        return {**super().secrets(), "DISPATCHER_WEBHOOK_SECRET": self.webhook_secret}

    @model_validator(mode="after")
    def _refuse_dev_webhook_secret(self) -> Self:
        # The kit's check knows the platform's placeholders, not this service's own default.
        if self.is_production and self.webhook_secret == DEV_WEBHOOK_SECRET:
            raise ValueError(
                "production mode refuses placeholder secrets: DISPATCHER_WEBHOOK_SECRET"
            )
        return self
