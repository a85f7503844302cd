"""Fakes of the kit's ports for use-case tests that run in memory, in milliseconds.

A service's fake unit of work subclasses :class:`FakeUnitOfWork` and opens
its fake repositories on a shared :class:`FakeStore` (what the "database"
holds). Like the real one, a unit that fails leaves the store as it found it
and announces nothing; a committed one publishes its events to
``store.published`` and runs its after-commit callbacks. Fakes keep the real
repositories' public methods and signatures (see :func:`assert_same_interface`).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from shopmesh.kit.errors import Conflict
from shopmesh.kit.events import Event
from shopmesh.kit.idempotency import IdempotencyKeyReused, IdempotentRequest

U = TypeVar("U", bound="FakeUnitOfWork")


class FakeStore:
    """What the fake repositories keep; subclasses add their tables as attributes."""

    def __init__(self) -> None:
        self.published: list[Event] = []
        self.commits = 0
        self.rollbacks = 0
        # idempotency_record: (owner, key) -> (fingerprint, result)
        self.idempotency: dict[tuple[int, str], tuple[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        kept = {"published", "commits", "rollbacks"}
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k not in kept}

    def restore(self, snapshot: dict[str, Any]) -> None:
        vars(self).update(snapshot)

    def events(self, event_type: str | None = None) -> list[Event]:
        """The events committed units announced (of one type, or all), in order."""
        return [e for e in self.published if event_type in (None, e.event_type)]


class FakeOutbox:
    """The unit's outbox: the events it announces once it commits."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, *events: Event) -> None:
        self.events.extend(events)


class FakeUnitOfWork:
    """A unit of work on a :class:`FakeStore`: all or nothing, like the real one."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.outbox = FakeOutbox()
        self._after_commit: list[Callable[[], object]] = []
        self._snapshot: dict[str, Any] | None = None
        self._used = False

    def open_repositories(self) -> None:
        """Make the fake repositories on ``self.store`` (subclasses do)."""

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._after_commit.append(callback)

    async def __aenter__(self) -> Self:
        if self._used:
            raise RuntimeError("a unit of work is used once: ask the factory for a new one")
        self._used = True
        self._snapshot = self.store.snapshot()
        self.open_repositories()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._snapshot is not None
        if exc is not None:
            self.store.restore(self._snapshot)
            self.store.rollbacks += 1
            return
        self.store.commits += 1
        self.store.published.extend(self.outbox.events)
        for callback in self._after_commit:
            callback()


def units_of(kind: type[U], store: FakeStore) -> Callable[[], U]:
    """A service's source of fake units of work, all on ``store``."""
    return lambda: kind(store)


@dataclass
class FakeIdempotencyRecords:
    """:class:`shopmesh.kit.idempotency.IdempotencyRecords` in memory."""

    store: FakeStore

    async def claim(
        self, owner_id: int, request: IdempotentRequest, *, now: datetime, result: Any = None
    ) -> Any | None:
        if (owner_id, request.key) not in self.store.idempotency:
            self.store.idempotency[(owner_id, request.key)] = (request.fingerprint, result)
            return None
        return await self.find(owner_id, request)

    async def find(self, owner_id: int, request: IdempotentRequest) -> Any | None:
        found = self.store.idempotency.get((owner_id, request.key))
        if found is None:
            return None
        fingerprint, result = found
        if fingerprint != request.fingerprint:
            raise IdempotencyKeyReused()
        if result is None:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return result

    async def remember(self, owner_id: int, request: IdempotentRequest, result: Any) -> None:
        fingerprint, _ = self.store.idempotency[(owner_id, request.key)]
        self.store.idempotency[(owner_id, request.key)] = (fingerprint, result)


def public_signatures(kind: type) -> dict[str, inspect.Signature]:
    """The public methods of ``kind`` with their signatures (``self`` left out)."""
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(kind, inspect.isfunction)
        if not name.startswith("_")
    }


def assert_same_interface(fake: type, real: type) -> None:
    """``fake`` offers exactly ``real``'s public methods, with the same parameters."""
    fakes, reals = public_signatures(fake), public_signatures(real)
    assert set(fakes) == set(reals), f"{fake.__name__}: {set(fakes) ^ set(reals)}"
    for name, signature in reals.items():
        assert list(fakes[name].parameters) == list(signature.parameters), name
