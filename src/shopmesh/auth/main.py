"""Wiring of the auth service: settings, the app, the admin account at start."""

from __future__ import annotations

import logging
from datetime import timedelta

from shopmesh.auth.api import AuthDependency, RecoveryDependency, router
from shopmesh.auth.domain import UserRegistered
from shopmesh.auth.mailer import Mailer, transport_for
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.recovery import RESET_WINDOW, PasswordRecovery
from shopmesh.auth.repository import AuthUnitOfWork, password_reset, refresh_token
from shopmesh.auth.service import AuthService
from shopmesh.auth.settings import Settings
from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Accounts and sign-in for ShopMesh: register (username or email), login, the caller's "
    "account, refresh-token rotation, logout, and password reset by mail. Access tokens are "
    "HS256 JWTs."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The auth service's ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        migrations="shopmesh.auth:migrations",
        produces=[UserRegistered.topic],
        retention=retention_rules(settings),
    )
    units = runtime.units(AuthUnitOfWork)
    passwords = PasswordHasher(rounds=settings.bcrypt_rounds)
    auth = AuthService(units, settings, passwords=passwords)
    mailer = Mailer(transport_for(settings.smtp_url, settings.mail_dir), sender=settings.mail_from)
    recovery = PasswordRecovery(units, settings, passwords=passwords, mailer=mailer)

    async def on_startup() -> None:
        await passwords.prepare()
        await auth.ensure_admin()
        if settings.is_production and not settings.smtp_url:
            log.warning("SHOPMESH_SMTP_URL is not set: password reset mail goes to files only")

    return create_service_app(
        runtime,
        title="ShopMesh auth",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[AuthDependency.given(auth), RecoveryDependency.given(recovery)],
        background=[mailer.run],
        on_startup=on_startup,
    )


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Auth's own tables kept bounded (kit.retention): refresh tokens once expired; password
    reset tokens once out of the hour that limits how many links a person is sent (and
    expired: a link never lasts less than it says)."""
    reset_keep = max(RESET_WINDOW, timedelta(seconds=settings.reset_token_ttl_seconds))
    return [
        RetentionRule(refresh_token, refresh_token.c.expires_at, settings.expired_token_retention),
        RetentionRule(password_reset, password_reset.c.created_at, reset_keep),
    ]


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
