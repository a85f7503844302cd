"""The auth service's settings (env prefix ``AUTH_``, platform-wide values ``SHOPMESH_``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints
from pydantic_settings import SettingsConfigDict

from shopmesh.auth.domain import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
)
from shopmesh.kit.settings import Age, ServiceSettings, shared

# Development-only default; production refuses it (kit.settings.PLACEHOLDER_SECRETS).
DEV_ADMIN_PASSWORD = "admin12345"  # noqa: S105

# The admin account obeys the rules of every account, so a bad value stops the start.
AdminUsername = Annotated[
    str,
    StringConstraints(min_length=USERNAME_MIN, max_length=USERNAME_MAX, pattern=USERNAME_PATTERN),
]
AdminPassword = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", populate_by_name=True)

    service_name: str = "auth"
    port: int = 8081
    bcrypt_rounds: int = Field(10, ge=4, le=31)
    access_token_ttl_seconds: int = Field(24 * 3600, gt=0)
    refresh_token_ttl_seconds: int = Field(14 * 24 * 3600, gt=0)
    # How long a refresh token is kept once expired (used and revoked ones are kept until
    # then: a reused token revokes its family). 0: deleted at expiry.
    expired_token_retention: Age = timedelta(0)
    # A refresh cookie presented again this soon after its exchange (several tabs
    # refreshing at once, a retried request) gets the same answer; later it is theft.
    refresh_reuse_grace_seconds: float = Field(10.0, ge=0, le=300)
    admin_username: AdminUsername = shared("admin", "ADMIN_USERNAME")
    admin_password: AdminPassword = shared(DEV_ADMIN_PASSWORD, "ADMIN_PASSWORD")
    # Password reset mail: SMTP when set (smtp://user:password@host:port, or smtps://),
    # else .eml files in mail_dir (development).
    smtp_url: str | None = shared(None, "SMTP_URL")
    mail_from: str = "ShopMesh <no-reply@shopmesh.local>"
    # The page of the web UI that takes a reset token (?token=...).
    reset_url: str = "http://localhost:3000/reset-password"
    reset_token_ttl_seconds: int = Field(30 * 60, gt=0)
    reset_requests_per_hour: int = Field(3, ge=1)

    @property
    def mail_dir(self) -> Path:
        """Where messages go as ``.eml`` files when no SMTP server is configured."""
        return self.data_dir / "mail"

    def secrets(self) -> dict[str, str]:
        return {**super().secrets(), "SHOPMESH_ADMIN_PASSWORD": self.admin_password}
