"""Transitional (issue 19): the kit's former wiring, on top of the unit of work.

The services move to units of work and typed dependencies one at a time;
until the last has, the ones not moved yet keep building their apps and
consumers the former way through this module. It goes with the last of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shopmesh.kit.uow import UnitOfWork

if TYPE_CHECKING:
    from shopmesh.kit.app import ServiceApp
    from shopmesh.kit.consumer import EventConsumer
    from shopmesh.kit.db import Database
    from shopmesh.kit.runtime import ServiceRuntime
    from shopmesh.kit.settings import ServiceSettings

SessionHandler = Callable[[AsyncSession, Any], Awaitable[None]]


@asynccontextmanager
async def transaction(runtime: ServiceRuntime) -> AsyncIterator[AsyncSession]:
    async with runtime.db.transaction() as session:
        yield session
    if session.info.pop("outbox_written", False) and runtime.relay is not None:
        runtime.relay.notify()


@asynccontextmanager
async def connection(
    runtime: ServiceRuntime, *, autocommit: bool = False
) -> AsyncIterator[AsyncConnection]:
    async with runtime.db.connection(autocommit=autocommit) as conn:
        try:
            yield conn
        finally:
            written = conn.info.pop("outbox_written", False)
    if written and runtime.relay is not None:
        runtime.relay.notify()


def session_consumer_parts(
    db: Database, handlers: Mapping[str, SessionHandler], batch_handler: Any
) -> tuple[Callable[[], UnitOfWork], dict[str, Any], Any]:
    """A former consumer's database and session handlers as units and unit handlers."""

    def on_session(handler: Any) -> Any:
        return lambda uow, event: handler(uow.connection, event)

    units = lambda: UnitOfWork(db)  # noqa: E731
    adapted = {name: on_session(handler) for name, handler in handlers.items()}
    return units, adapted, None if batch_handler is None else on_session(batch_handler)


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[Any],
    migrations: str | None,
    produces: Sequence[str] = (),
    consumers: Callable[[ServiceRuntime], Sequence[EventConsumer[Any]]] | None = None,
    on_startup: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    description: str = "",
    register: bool = True,
) -> ServiceApp:
    """The former ``create_service_app(settings, ...)``."""
    from shopmesh.kit.app import RuntimeDependency, create_service_app
    from shopmesh.kit.runtime import ServiceRuntime

    runtime = ServiceRuntime(settings, migrations=migrations, produces=produces, register=register)
    works: list[Callable[[], Awaitable[None]]] = []

    async def started() -> None:
        if consumers is not None and settings.kafka_enabled:
            works.extend(consumer.run for consumer in consumers(runtime))
        if on_startup is not None:
            await on_startup(runtime)
        works.extend(runtime.background)

    async def run_works() -> None:
        await asyncio.gather(*(work() for work in works))

    app = create_service_app(
        runtime,
        title=title,
        description=description,
        routers=routers,
        dependencies=[RuntimeDependency.given(runtime)],
        background=[run_works],
        on_startup=started,
    )
    app.fastapi.state.runtime = runtime  # where the former code and tests look for them
    app.fastapi.state.settings = settings
    return app
