"""Gateway settings: ``GATEWAY_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Self

import orjson
from limits import parse
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shopmesh.gateway.server import Limits
from shopmesh.kit.settings import ServiceSettings, shared

DEFAULT_ROUTES_FILE = Path(__file__).with_name("routes.toml")
# Never proxied to: the gateway itself, and the registry (internal to the platform).
_NOT_UPSTREAMS = frozenset({"gateway", "registry"})


class GatewaySettings(ServiceSettings):
    """Everything the gateway reads from the environment (``GATEWAY_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    service_name: str = "gateway"
    port: int = 8080
    # Clients (browsers, connection pools) keep idle connections for a minute or more.
    # A request sent just as the gateway closes its idle connection is lost, and clients
    # resend only idempotent ones: idle connections stay open as long as nginx's do.
    keepalive_timeout: int = Field(75, ge=1)
    # A request's head (request line and headers) must arrive within this time (else 408),
    # and be at most this large with at most this many fields (else 431).
    header_timeout: float = Field(15.0, gt=0)
    max_header_bytes: int = Field(32 * 1024, ge=1024)
    max_headers: int = Field(100, ge=10)
    # A request's body must arrive within this time (else 408; time the gateway spends
    # not reading, because the upstream is slow to take it, does not count).
    client_body_timeout: float = Field(60.0, gt=0)
    # Live streams (event-stream answers) a user (or, on public routes, a client address)
    # may hold at once (429 past it), and the gateway in all.
    streams_per_user: int = Field(8, ge=1)
    streams_max: int = Field(512, ge=1)
    # /metrics is served here, not on the public port (0: any free port).
    metrics_port: int = Field(9180, ge=0)
    metrics_host: str | None = None  # default: the gateway's own host

    # Static service -> base URLs (GATEWAY_UPSTREAMS, JSON). Unset: the platform's
    # service_urls (SHOPMESH_SERVICE_URLS, by default the kit's port table).
    upstreams: dict[str, list[str]] = Field(default_factory=dict)
    # With a registry, upstreams are discovered there; the static ones stay the fallback.
    registry_url: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "GATEWAY_REGISTRY_URL", "SHOPMESH_REGISTRY_URL", "registry_url"
        ),
    )
    registry_refresh_interval: float = Field(2.0, gt=0)
    # An instance that refuses a connection is skipped for this long (0: never).
    upstream_eject_seconds: float = Field(10.0, ge=0)
    # Consecutive failures of a service that open its circuit (503 at once), and how long
    # it stays open before one probe request is let through.
    circuit_failure_threshold: int = Field(5, ge=1)
    circuit_open_seconds: float = Field(10.0, gt=0)
    routes_file: Path = DEFAULT_ROUTES_FILE
    # Comma-separated or a JSON array; NoDecode lets the validator see the raw string.
    # Development default: the web UI's port, and 4200, where the commerce seed's app runs.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://localhost:4200",
            "http://127.0.0.1:4200",
        ]
    )
    cors_max_age: int = 600

    # `limits` notation ("500/second", "10 per minute").
    rate_limit_ip: str = "500/second"
    rate_limit_user: str = "100/second"
    rate_limit_login: str = "10/minute"
    # Per client address, on the register routes.
    rate_limit_register: str = "20/hour"
    # Several gateway replicas share limits through Redis when this is set.
    redis_url: str | None = shared(None, "REDIS_URL")

    max_body_bytes: int = 1024 * 1024
    # Request bodies up to this size are read whole before they are forwarded (one upstream
    # write, and never forwarded at all if their framing breaks); larger ones are streamed.
    buffer_body_bytes: int = 64 * 1024
    upstream_timeout: float = 30.0
    upstream_connect_timeout: float = 5.0
    # Event streams are long-lived: only the silence between two chunks is bounded.
    stream_idle_timeout: float = 300.0
    upstream_pool_limit: int = 1024
    # Below the backends' own idle timeout (uvicorn: 5 s), so the gateway never reuses a
    # connection the backend is closing (a request lost that way is retried only when idempotent).
    upstream_keepalive: float = 4.0
    # Whose X-Forwarded-*, X-Real-IP and Forwarded headers are believed (the client address
    # then comes from X-Forwarded-For): every peer (only behind a trusted proxy that every
    # request passes), or the peers in these networks (comma-separated, e.g. 10.0.0.0/8).
    # From anyone else those headers are dropped.
    trust_forwarded: bool = False
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("upstreams", mode="before")
    @classmethod
    def _parse_upstreams(cls, value: Any) -> Any:
        if isinstance(value, str | bytes):
            value = orjson.loads(value)
        if isinstance(value, dict):
            return {name: [urls] if isinstance(urls, str) else urls for name, urls in value.items()}
        return value

    @field_validator("upstreams")
    @classmethod
    def _strip_slashes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {name: [url.rstrip("/") for url in urls] for name, urls in value.items()}

    @model_validator(mode="after")
    def _default_upstreams(self) -> Self:
        if "upstreams" not in self.model_fields_set:
            self.upstreams = {
                name: [url.rstrip("/")]
                for name, url in self.service_urls.items()
                if name not in _NOT_UPSTREAMS
            }
        return self

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return orjson.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _normalise_origins(cls, value: list[str]) -> list[str]:
        return [origin.rstrip("/") for origin in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # fail at start-up
        return value

    @field_validator("rate_limit_ip", "rate_limit_user", "rate_limit_login", "rate_limit_register")
    @classmethod
    def _check_limit(cls, value: str) -> str:
        parse(value)  # fail at start-up, not on the first request
        return value

    def limits(self) -> Limits:
        """The bounds the server core puts on client connections."""
        return Limits(
            header_timeout=self.header_timeout,
            keepalive_timeout=self.keepalive_timeout,
            body_timeout=self.client_body_timeout,
            max_header_bytes=self.max_header_bytes,
            max_headers=self.max_headers,
            max_body_bytes=self.max_body_bytes,
            body_buffer_bytes=self.buffer_body_bytes,
        )
