"""Wiring of the auth service: settings, the app, the admin account at start."""

from __future__ import annotations

from shopmesh.auth.api import router
from shopmesh.auth.domain import UserRegistered
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.service import AuthService
from shopmesh.auth.settings import Settings
from shopmesh.kit.app import ServiceRuntime, create_service_app
from shopmesh.kit.http import ASGIApp
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
    )
    return app


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
