"""The app factory every service is built with.

It gives each service the same edges: the JSON error shape, request ids and
the access log, ``/health``, ``/ready`` and ``/metrics``, migrations at
start, the outbox relay and the event consumers as background tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopmesh.kit.client import Resolver, ServiceClient, StaticResolver
from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.db import Database, is_transient_db_error
from shopmesh.kit.errors import AppError, Forbidden
from shopmesh.kit.http import BodyLimitMiddleware, RequestContextMiddleware, Scope
from shopmesh.kit.jwt import CACHED_TOKENS, Principal, TokenVerifier
from shopmesh.kit.kafka import kafka_reachable
from shopmesh.kit.metrics import render
from shopmesh.kit.migrations import migrate
from shopmesh.kit.outbox import OutboxRelay
from shopmesh.kit.registry import RegistryAgent
from shopmesh.kit.retention import RetentionRule, service_retention
from shopmesh.kit.settings import ServiceSettings

log = logging.getLogger(__name__)
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})


@dataclass
class ServiceRuntime:
    """A running service: settings, database, token verifier, client, background work."""

    settings: ServiceSettings
    database: Database | None
    verifier: TokenVerifier
    client: ServiceClient
    relay: OutboxRelay | None = None
    consumers: list[EventConsumer] = field(default_factory=list)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        if self.database is None:
            raise RuntimeError(f"{self.settings.service_name} has no database")
        return self.database

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """One use case's transaction; wakes the relay if it wrote events."""
        async with self.db.transaction() as session:
            yield session
        if session.info.pop("outbox_written", False) and self.relay is not None:
            self.relay.notify()

    @asynccontextmanager
    async def connection(self, *, autocommit: bool = False) -> AsyncIterator[AsyncConnection]:
        """One use case's transaction on a Core connection (no ORM session); wakes the relay
        if it wrote events. For hot paths: a statement costs less than through a session.
        ``autocommit``: see :meth:`Database.connection` (a use case of one statement)."""
        async with self.db.connection(autocommit=autocommit) as connection:
            try:
                yield connection
            finally:
                # The info dict lives as long as the pooled connection: never leave the mark.
                written = connection.info.pop("outbox_written", False)
        if written and self.relay is not None:
            self.relay.notify()

    async def close(self) -> None:
        await self.client.close()
        if self.database is not None:
            await self.database.close()


ConsumersFactory = Callable[[ServiceRuntime], Sequence[EventConsumer]]
StartupHook = Callable[[ServiceRuntime], Awaitable[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    migrations: str | None,
    produces: Sequence[str] = (),
    consumers: ConsumersFactory | None = None,
    on_startup: StartupHook | None = None,
    description: str = "",
    register: bool = True,
    retention: Sequence[RetentionRule] = (),
) -> Any:
    """Build a service's ASGI app (a FastAPI app wrapped in the kit's middleware).

    ``migrations`` (``"pkg:dir"``) gives the service a database migrated at
    start; ``None`` is a service without one. ``on_startup`` may append
    coroutine functions to ``runtime.background``; they run as tasks until shutdown.
    With ``settings.registry_url`` set, the instance registers itself (unless
    ``register`` is false: the registry itself) and finds the others there.
    ``retention``: the service's own tables to keep bounded (``kit.retention``); the
    kit's outbox and processed-event tables are kept bounded in every service with a
    database.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await _open_runtime(
            settings, migrations=migrations, produces=produces, register=register
        )
        if consumers is not None and settings.kafka_enabled:
            runtime.consumers = list(consumers(runtime))
        if on_startup is not None:
            await on_startup(runtime)
        if runtime.database is not None and settings.retention_interval > 0:
            pruner = service_retention(runtime.database, settings, retention)
            runtime.background.append(pruner.run)
        app.state.runtime = runtime
        works = [runtime.relay.run] if runtime.relay else []
        works += [c.run for c in runtime.consumers] + runtime.background
        tasks = [
            asyncio.create_task(work(), name=getattr(work, "__qualname__", repr(work)))
            for work in works
        ]
        try:
            yield
        finally:
            await _cancel(tasks, timeout=settings.shutdown_timeout)
            await runtime.close()

    app = FastAPI(title=title, description=description, lifespan=lifespan)
    _install_error_handlers(app)
    app.include_router(_operations_router(settings))
    for router in routers:
        app.include_router(router)
    app.state.settings = settings
    wrapped = BodyLimitMiddleware(app)
    service_app = RequestContextMiddleware(wrapped, service=settings.service_name, route_of=_route)
    service_app.fastapi = app  # type: ignore[attr-defined]
    return service_app


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


async def _open_runtime(
    settings: ServiceSettings, *, migrations: str | None, produces: Sequence[str], register: bool
) -> ServiceRuntime:
    db = None
    if migrations is not None:
        db = Database(
            settings.db_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        await migrate(db, migrations, wait=settings.database_start_timeout)
    verifier = TokenVerifier(
        secret=settings.jwt_secret, issuer=settings.jwt_issuer, cache_size=CACHED_TOKENS
    )
    relay = None
    if db is not None and produces and settings.kafka_enabled:
        relay = OutboxRelay(
            db,
            service=settings.service_name,
            bootstrap=settings.kafka_bootstrap,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval,
            topics=produces,
            replication=settings.kafka_replication,
        )
    agent = RegistryAgent(settings, register=register) if settings.registry_url else None
    resolver: Resolver = agent.resolver if agent else StaticResolver(settings.service_urls)
    runtime = ServiceRuntime(
        settings=settings,
        database=db,
        verifier=verifier,
        client=ServiceClient(settings, resolver),
        relay=relay,
    )
    if agent is not None:
        runtime.background.append(agent.run)
    return runtime


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class ErrorPublic(BaseModel):
    """The platform's error shape, for OpenAPI documents (the handlers below render it)."""

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
async def get_runtime(request: Request) -> ServiceRuntime:
    return _runtime_of(request)


def _runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def current_principal(request: Request) -> Principal:
    """The verified caller (services check the token again behind the gateway)."""
    runtime = _runtime_of(request)
    principal = runtime.verifier.verify_header(request.headers.get("authorization"))
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


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
AdminUser = Annotated[Principal, Depends(admin_principal)]
# Another platform service (or an administrator): internal endpoints.
ServiceCaller = Annotated[Principal, Depends(service_principal)]


def _operations_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "service": settings.service_name}

    @router.get("/ready")
    async def ready(runtime: Runtime) -> JSONResponse:
        """Ready: the database answers and (when used) Kafka is reachable."""
        checks = {}
        if runtime.database is not None:
            checks["database"] = await _database_ok(runtime.database)
        if settings.kafka_enabled and runtime.database is not None:
            checks["kafka"] = await kafka_reachable(settings.kafka_bootstrap)
        ok = all(checks.values())
        body = {"status": "ready" if ok else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = render()
        return Response(body, media_type=content_type)

    return router


async def _database_ok(db: Database) -> bool:
    try:
        async with asyncio.timeout(2.0):
            await db.ping()
    except Exception:
        return False
    return True


def _error(request: Request, status: int, message: str, code: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "error": message,
        "code": code,
        "request_id": request.scope.get("request_id"),
    }
    if extra.get("details") is not None:
        body["details"] = extra["details"]
    return JSONResponse(body, status_code=status, headers=extra.get("headers"))


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return _error(
            request, exc.status, exc.message, exc.code, details=exc.details, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(request, 400, "request body is not valid JSON", "invalid_json")
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e["type"]}
            for e in errors
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        loc = first["loc"]
        # The first part says where the value came from (body, query...); the rest names it.
        where = ".".join(loc[1:] if loc and loc[0] in _SOURCES else loc)
        if loc == ["body"] and first["type"] in _NOT_AN_OBJECT:
            message = "request body must be a JSON object (Content-Type: application/json)"
        else:
            message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return _error(request, 422, message, "validation_error", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's body parse hit the stack
            return _error(request, 422, "request body is nested too deeply", "validation_error")
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        code = codes.get(exc.status_code, "http_error")
        return _error(request, exc.status_code, message, code, headers=exc.headers)

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if is_transient_db_error(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return _error(request, 503, "database unavailable, try again", "service_unavailable")
        log.exception("unhandled error")
        return _error(request, 500, "internal error", "internal_error")

    # Registered by class, not only under Exception: the catch-all handler runs in
    # Starlette's ServerErrorMiddleware, which re-raises after answering, so uvicorn
    # logged a stack trace for every request of a database outage and closed the
    # keep-alive connection under the gateway's feet (its next request there: a 502).
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(OSError, database_error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return await database_error(request, exc)
