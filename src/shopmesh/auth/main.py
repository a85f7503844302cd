"""Wiring of the auth service: settings, the app, the admin account at start."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from sqlalchemy import Table

from shopmesh.auth.api import router
from shopmesh.auth.domain import UserRegistered
from shopmesh.auth.mailer import Mailer, transport_for
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.recovery import RESET_WINDOW, PasswordRecovery
from shopmesh.auth.repository import PasswordResetRow, RefreshTokenRow
from shopmesh.auth.service import AuthService
from shopmesh.auth.settings import Settings
from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.http import ASGIApp
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Accounts and sign-in for ShopMesh: register (username or email), login, the caller's "
    "account, refresh-token rotation, logout, and password reset by mail. Access tokens are "
    "HS256 JWTs."
)


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The auth service's ASGI app."""
    settings = settings or Settings()
    passwords = PasswordHasher(rounds=settings.bcrypt_rounds)

    async def on_startup(runtime: ServiceRuntime) -> None:
        auth = AuthService(runtime, settings, passwords=passwords)
        await passwords.prepare()
        await auth.ensure_admin()
        runtime.state["auth"] = auth
        if settings.is_production and not settings.smtp_url:
            log.warning("SHOPMESH_SMTP_URL is not set: password reset mail goes to files only")
        mailer = Mailer(
            transport_for(settings.smtp_url, settings.mail_dir), sender=settings.mail_from
        )
        runtime.background.append(mailer.run)
        runtime.state["recovery"] = PasswordRecovery(
            runtime, settings, passwords=passwords, mailer=mailer
        )

    app: ASGIApp = create_service_app(
        settings,
        title="ShopMesh auth",
        description=DESCRIPTION,
        routers=[router],
        migrations="shopmesh.auth:migrations",
        produces=[UserRegistered.topic],
        on_startup=on_startup,
        retention=retention_rules(settings),
    )
    return app


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Auth's own tables kept bounded (kit.retention): refresh tokens once expired; password
    reset tokens once out of the hour that limits how many links a person is sent (and
    expired: a link never lasts less than it says)."""
    refresh = cast(Table, RefreshTokenRow.__table__)
    resets = cast(Table, PasswordResetRow.__table__)
    reset_keep = max(RESET_WINDOW, timedelta(seconds=settings.reset_token_ttl_seconds))
    return [
        RetentionRule(refresh, refresh.c.expires_at, settings.expired_token_retention),
        RetentionRule(resets, resets.c.created_at, reset_keep),
    ]


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
