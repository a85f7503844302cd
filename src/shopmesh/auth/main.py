"""Wiring of the auth service: settings, the app, the admin account at start."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from shopmesh.auth.api import router
from shopmesh.auth.domain import UserRegistered
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.repository import RefreshTokenRow
from shopmesh.auth.service import AuthService
from shopmesh.auth.settings import Settings
from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.http import ASGIApp
from shopmesh.kit.retention import RetentionRule
from shopmesh.kit.runner import serve

DESCRIPTION = (
    "Accounts and sign-in for ShopMesh: register, login, the caller's account, "
    "refresh-token rotation and logout. Access tokens are HS256 JWTs."
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
    """Auth's own tables kept bounded (kit.retention): refresh tokens once expired."""
    tokens = cast(Table, RefreshTokenRow.__table__)
    return [RetentionRule(tokens, tokens.c.expires_at, settings.expired_token_retention)]


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
