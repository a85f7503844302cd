"""The dependencies routes declare, typed: what ``main.py`` gives an app
(:class:`Dependency`) and who is calling (:data:`CurrentUser`, :data:`AdminUser`,
:data:`ServiceCaller`). Routers are built once per process, apart from any app: a route
finds its app's values through ``request.app``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request

from shopmesh.kit.errors import Forbidden
from shopmesh.kit.jwt import Principal, TokenVerifier

T = TypeVar("T")


class Dependency(Generic[T]):
    """Something routes use that ``main.py`` builds once per app (a use case service, a hub).

    Declare it next to the routes, typed, and use it as a FastAPI dependency::

        PaymentsDependency = Dependency[PaymentService]("payments")
        Payments = Annotated[PaymentService, Depends(PaymentsDependency)]

    ``main.py`` gives the app its value: ``PaymentsDependency.given(service)``. An app
    whose routes use a dependency it was not given refuses to be built.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def given(self, value: T) -> Provision[T]:
        """This dependency's value in one app."""
        return Provision(self, value)

    async def __call__(self, request: Request) -> T:
        # Not a lookup by name: the key is this typed object, checked at build time.
        value: T = request.app.state.provisions[self]
        return value

    def __repr__(self) -> str:
        return f"Dependency({self.name!r})"


@dataclass(frozen=True, slots=True)
class Provision(Generic[T]):
    """A dependency and its value in one app (see :meth:`Dependency.given`)."""

    dependency: Dependency[T]
    value: T


# The token verifier of the app serving the request: every app is given its runtime's.
VerifierDependency = Dependency[TokenVerifier]("token verifier")
Verifier = Annotated[TokenVerifier, Depends(VerifierDependency)]


# Dependencies that do no I/O are `async def` all the same: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hop per dependency on every request.
async def current_principal(request: Request, verifier: Verifier) -> Principal:
    """The verified caller (services check the token again behind the gateway)."""
    principal = verifier.verify_header(request.headers.get("authorization"))
    request.scope["user_id"] = principal.user_id
    return principal


async def admin_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if not principal.is_admin:
        raise Forbidden("administrators only")
    return principal


async def service_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if not (principal.is_service or principal.is_admin):
        raise Forbidden("platform services only")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
AdminUser = Annotated[Principal, Depends(admin_principal)]
# Another platform service (or an administrator): internal endpoints.
ServiceCaller = Annotated[Principal, Depends(service_principal)]
