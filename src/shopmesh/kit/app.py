"""The app factory every service is built with, and the dependencies its routes declare.

It gives each service the same edges: the JSON error shape, request ids and
the access log, ``/health``, ``/ready`` and ``/metrics``, migrations at
start, the outbox relay, the event consumers and the service's own loops as
background tasks. A service's ``main.py`` builds its runtime, use cases and
consumers first, then hands them here::

    runtime = ServiceRuntime(settings, migrations="shopmesh.payments:migrations", ...)
    payments = PaymentService(runtime.units(PaymentsUnitOfWork), policy=...)
    return create_service_app(runtime, title=..., routers=[router],
                              dependencies=[PaymentsDependency.given(payments)])

and its routes declare what they use, typed:
``Payments = Annotated[PaymentService, Depends(PaymentsDependency)]``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.error_handlers import install_error_handlers
from shopmesh.kit.errors import Forbidden
from shopmesh.kit.http import BodyLimitMiddleware, RequestContextMiddleware, Scope
from shopmesh.kit.idempotency import MAX_KEY_LENGTH, Outcome
from shopmesh.kit.jwt import Principal, TokenVerifier
from shopmesh.kit.metrics import render
from shopmesh.kit.operations.api import operations_router, readiness
from shopmesh.kit.runtime import ServiceRuntime, Work

log = logging.getLogger(__name__)
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


class ServiceApp(RequestContextMiddleware):
    """A service's ASGI app: its FastAPI app behind the kit's middleware, and its runtime."""

    def __init__(self, fastapi: FastAPI, runtime: ServiceRuntime) -> None:
        super().__init__(
            BodyLimitMiddleware(fastapi), service=runtime.settings.service_name, route_of=_route
        )
        self.fastapi = fastapi
        self.runtime = runtime

    def provided(self, dependency: Dependency[T]) -> T:
        """What ``dependency`` is in this app (as its routes get it)."""
        value: T = self.fastapi.state.provisions[dependency]
        return value


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    routers: Sequence[APIRouter],
    description: str = "",
    dependencies: Sequence[Provision[Any]] = (),
    consumers: Sequence[EventConsumer[Any]] = (),
    background: Sequence[Work] = (),
    on_startup: Callable[[], Awaitable[None]] | None = None,
) -> ServiceApp:
    """Build a service's app on ``runtime``.

    At start the runtime opens (migrations), then ``on_startup`` runs; the outbox
    relay, the registry agent, the ``consumers`` (when Kafka is enabled) and the
    ``background`` work then run as tasks until shutdown cancels them. A service with a
    database also serves the administrators' ``/api/ops`` (:mod:`shopmesh.kit.operations`:
    its state, its consumers' dead letters, its part of a story).
    """
    settings = runtime.settings
    works = runtime.works()
    if settings.kafka_enabled:
        works += [consumer.run for consumer in consumers]
    works += background

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.open()
        if on_startup is not None:
            await on_startup()
        tasks = [asyncio.create_task(work(), name=_name(work)) for work in works]
        try:
            yield
        finally:
            await _cancel(tasks, timeout=settings.shutdown_timeout)
            await runtime.close()

    app = FastAPI(title=title, description=description, lifespan=lifespan)
    install_error_handlers(app)
    # The service's own routes first: a request is matched against routes in order, and
    # the hot paths are the service's (with the console's eight before them, a charge
    # cost 18 more route matches).
    for router in routers:
        app.include_router(router)
    app.include_router(_operations_router(runtime))
    if runtime.database is not None:
        app.include_router(operations_router(runtime, consumers, admin=admin_principal))
    provisions = [VerifierDependency.given(runtime.verifier), *dependencies]
    app.state.provisions = {p.dependency: p.value for p in provisions}
    _check_provided(app, app.state.provisions)
    return ServiceApp(app, runtime)


def _name(work: Work) -> str:
    return str(getattr(work, "__qualname__", repr(work)))


async def _cancel(tasks: Sequence[asyncio.Task[Any]], *, timeout: float) -> None:
    """Cancel ``tasks`` and wait for them, but never longer than ``timeout``: a stuck
    task must not keep the process from shutting down."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=timeout)
    for task in stuck:
        log.error("background task %s did not stop within %.0fs", task.get_name(), timeout)


def _check_provided(app: FastAPI, provided: dict[Dependency[Any], Any]) -> None:
    """Refuse an app whose routes use a :class:`Dependency` it was not given."""
    pending = [route.dependant for route in app.routes if hasattr(route, "dependant")]
    while pending:
        dependant = pending.pop()
        call = dependant.call
        if isinstance(call, Dependency) and call not in provided:
            raise RuntimeError(f"{call!r} is used by a route but main.py did not provide it")
        pending.extend(dependant.dependencies)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class ErrorPublic(BaseModel):
    """The platform's error shape, for OpenAPI documents (kit.error_handlers renders it)."""

    error: str
    code: str
    request_id: str | None = None
    details: Any = None


def error_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the refusals a route documents: ``{409: "sku_taken: ..."}``."""
    return {
        status: {"model": ErrorPublic, "description": text} for status, text in described.items()
    }


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


REPLAYED_HEADER = "Idempotent-Replayed"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Retrying with the same key and body returns the first answer.",
    ),
]


def mark_replayed(response: Response, outcome: Outcome[Any]) -> None:
    """Tell the client the answer is the stored one of an earlier request with its key."""
    if outcome.replayed:
        response.headers[REPLAYED_HEADER] = "true"


CurrentUser = Annotated[Principal, Depends(current_principal)]
AdminUser = Annotated[Principal, Depends(admin_principal)]
# Another platform service (or an administrator): internal endpoints.
ServiceCaller = Annotated[Principal, Depends(service_principal)]


def _operations_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])
    settings = runtime.settings

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "service": settings.service_name}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        """Ready: the database answers and (when used) Kafka is reachable."""
        checks = await readiness(runtime)
        ok = all(checks.values())
        body = {"status": "ready" if ok else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = render()
        return Response(body, media_type=content_type)

    return router
