"""The unit of work: one use case's transaction and the events it announces, as one.

Every use case of every service (and every consumed event) runs in one::

    async with units() as uow:              # a new unit from the service's factory
        tx = await uow.transactions.charge(...)
        uow.outbox.add(TransactionCreated.of(tx))

Leaving the block normally writes the added events to the outbox table in the
same transaction, then commits; an error rolls the change and its events back
together. After a commit that wrote events the outbox relay is woken (it
publishes at once instead of at its next poll), and the callbacks given to
:meth:`UnitOfWork.after_commit` run.

Repositories run SQLAlchemy Core statements on the unit's connection; its
transaction begins with the first statement (a unit that runs none costs no
round trip). A service subclasses :class:`UnitOfWork` to give it its
repositories, made in :meth:`UnitOfWork.open_repositories`; tests replace it
with a fake of the same shape, so use cases run in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.db import Database
from shopmesh.kit.outbox import Outbox


class Wakeable(Protocol):
    """What a unit of work wakes after committing events: the outbox relay."""

    def notify(self) -> None: ...


class UnitOfWork:
    """A transaction on the service's database plus its :class:`Outbox`; used once."""

    def __init__(self, database: Database, *, relay: Wakeable | None = None) -> None:
        self._database = database
        self._relay = relay
        self.outbox = Outbox()
        self._connection: AsyncConnection | None = None
        self._checkout: AbstractAsyncContextManager[AsyncConnection] | None = None
        self._after_commit: list[Callable[[], object]] = []

    @property
    def connection(self) -> AsyncConnection:
        """The unit's connection (repositories run their statements on it)."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use `async with`")
        return self._connection

    def open_repositories(self, connection: AsyncConnection) -> None:
        """Make the service's repositories on ``connection`` (subclasses do)."""

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once this unit of work has committed (never after a rollback)."""
        self._after_commit.append(callback)

    async def __aenter__(self) -> Self:
        if self._checkout is not None:
            raise RuntimeError("a unit of work is used once: ask the factory for a new one")
        self._checkout = self._database.checkout()
        self._connection = await self._checkout.__aenter__()
        self.open_repositories(self._connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        checkout, connection = self._checkout, self.connection
        assert checkout is not None
        self._connection = None
        try:
            if exc is None:
                wrote = await self.outbox.write(connection)
                if connection.in_transaction():
                    await connection.commit()
        except BaseException as error:
            await checkout.__aexit__(type(error), error, error.__traceback__)  # rolls back
            raise
        await checkout.__aexit__(exc_type, exc, traceback)  # rolls back what is left
        if exc is None:
            self._committed(wrote=wrote or self.outbox.handed_over > 0)

    def _committed(self, *, wrote: bool) -> None:
        if wrote and self._relay is not None:
            self._relay.notify()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
