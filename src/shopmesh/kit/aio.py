"""Background-loop helpers that never lose a cancellation.

A service's background loops (outbox relay, consumers, pollers) end when the
lifespan cancels them. Two easy ways to lose that cancel, both met in practice:

- Python 3.11's ``asyncio.wait_for`` returns the inner result when the inner
  awaitable finishes at the moment the task is cancelled: the cancel is gone
  and the loop goes on forever. :func:`wait_event` uses ``asyncio.timeout``,
  which counts cancellations and cannot swallow one.
- A ``finally`` that fails while the task unwinds (closing a connection the
  cancel just broke) replaces the ``CancelledError`` with an ordinary error;
  an ``except Exception`` retry loop then treats the shutdown as an outage.
  :func:`retrying` checks whether the task is being cancelled before retrying.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import NoReturn, TypeVar

from shopmesh.kit.clock import utcnow

T = TypeVar("T")


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; ``True`` when it was set."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


class Alarm:
    """Puts a worker loop to sleep until its next piece of work is due, at most ``longest``
    seconds (it also looks for work it was not told about: another instance's, or left
    by a crash); work added meanwhile wakes it if it is due sooner than that.

    A round of the loop does the due work, then ``await alarm.sleep(next_due)``. Whoever
    adds work calls :meth:`due` (or :meth:`ring` for work due now). While the loop is
    working, any :meth:`due` rings: the round's query may have missed that work.
    """

    def __init__(self, longest: float) -> None:
        self.longest = longest
        self._event = asyncio.Event()
        self._until: datetime | None = None  # when the sleeping loop wakes; None: working

    def ring(self) -> None:
        """Wake the loop now."""
        self._event.set()

    def due(self, at: datetime) -> None:
        """New work is due at ``at``: wake the loop if it would sleep past that."""
        if self._until is None or at < self._until:
            self._event.set()

    async def sleep(self, next_due: datetime | None) -> None:
        """Sleep until ``next_due`` (the earliest work known; None: none), a ring, or
        ``longest`` seconds, whichever comes first."""
        now = utcnow()
        wait = self.longest
        if next_due is not None:
            wait = min(max((next_due - now).total_seconds(), 0.0), wait)
        self._until = now + timedelta(seconds=wait)
        try:
            await wait_event(self._event, wait)
        finally:
            self._until = None
            self._event.clear()


def cancelling() -> bool:
    """Whether the current task has been asked to stop."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def describe(exc: BaseException) -> str:
    """``Type: message`` cut short, for one log line."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"


async def retrying(
    step: Callable[[], Awaitable[object]],
    *,
    what: str,
    pause: float,
    log: logging.Logger,
    on_error: Callable[[], Awaitable[object]] | None = None,
) -> NoReturn:
    """Run ``step`` again and again until cancelled.

    An error is logged as "<what> paused", ``on_error`` runs, and the next round
    starts after ``pause`` seconds; an error raised while the task is being
    cancelled ends the loop as the cancellation it hides.
    """
    while True:
        try:
            await step()
        except Exception as exc:
            if cancelling():
                raise asyncio.CancelledError from exc
            log.warning("%s paused: %s", what, describe(exc))
            if on_error is not None:
                await on_error()
            await asyncio.sleep(pause)


async def poll(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Call ``probe`` until ``until(result)`` holds; ``TimeoutError`` with the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last: {result!r}")
        await asyncio.sleep(interval)
