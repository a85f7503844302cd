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
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, FastAPI, Header
from fastapi.responses import Response
from pydantic import BaseModel

from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.dependencies import (
    AdminUser,
    CurrentUser,
    Dependency,
    Provision,
    ServiceCaller,
    Verifier,
    VerifierDependency,
)
from shopmesh.kit.error_handlers import install_error_handlers
from shopmesh.kit.http import BodyLimitMiddleware, RequestContextMiddleware, Scope
from shopmesh.kit.idempotency import MAX_KEY_LENGTH, Outcome
from shopmesh.kit.operations import api as operations
from shopmesh.kit.operations.api import Operations, OperationsDependency, RuntimeDependency
from shopmesh.kit.runtime import ServiceRuntime, Work

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    _serve(app, [*routers, operations.probes])
    provisions: list[Provision[Any]] = [
        VerifierDependency.given(runtime.verifier),
        RuntimeDependency.given(runtime),
        *dependencies,
    ]
    if runtime.database is not None:
        _serve(app, [operations.router])
        provisions.append(OperationsDependency.given(Operations.of(runtime, consumers)))
    app.state.provisions = {p.dependency: p.value for p in provisions}
    _check_provided(app, app.state.provisions)
    return ServiceApp(app, runtime)


def _serve(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Serve ``routers``' routes on ``app`` as they are: built once per process, full paths and
    all. (``include_router`` would work out each route's dependencies and response models
    again for every app, ~30 ms an app: the tests build some 800 apps.)"""
    for router in routers:
        app.router.routes.extend(router.routes)


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


# The dependencies routes declare live in shopmesh.kit.dependencies; services import them
# from here, with the factory.
__all__ = [
    "REPLAYED_HEADER",
    "AdminUser",
    "CurrentUser",
    "Dependency",
    "ErrorPublic",
    "IdempotencyKey",
    "Provision",
    "ServiceApp",
    "ServiceCaller",
    "Verifier",
    "VerifierDependency",
    "create_service_app",
    "error_responses",
    "mark_replayed",
]
