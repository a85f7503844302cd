"""Wiring of the auth service: settings, the app, the admin account at start."""

from __future__ import annotations

from shopmesh.auth.api import AuthDependency, router
from shopmesh.auth.domain import UserRegistered
from shopmesh.auth.passwords import PasswordHasher
from shopmesh.auth.repository import AuthUnitOfWork
from shopmesh.auth.service import AuthService
from shopmesh.auth.settings import Settings
from shopmesh.kit.app import ServiceApp, create_service_app
from shopmesh.kit.runner import serve
from shopmesh.kit.runtime import ServiceRuntime

DESCRIPTION = (
    "Accounts and sign-in for ShopMesh: register, login, the caller's account, "
    "refresh-token rotation and logout. Access tokens are HS256 JWTs."
)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The auth service's ASGI app; nothing connects until its lifespan starts."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings, migrations="shopmesh.auth:migrations", produces=[UserRegistered.topic]
    )
    passwords = PasswordHasher(rounds=settings.bcrypt_rounds)
    auth = AuthService(runtime.units(AuthUnitOfWork), settings, passwords=passwords)

    async def on_startup() -> None:
        await passwords.prepare()
        await auth.ensure_admin()

    return create_service_app(
        runtime,
        title="ShopMesh auth",
        description=DESCRIPTION,
        routers=[router],
        dependencies=[AuthDependency.given(auth)],
        on_startup=on_startup,
    )


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings)
