"""A circuit breaker per backend service (pure: an injectable clock, no I/O).

Closed, it lets everything through and counts consecutive failures; after
``failure_threshold`` of them it opens and the gateway answers 503 at once
instead of making every client wait for a dead service. After ``open_for``
seconds one request is let through as a probe (half-open): success closes the
circuit, failure opens it again for another ``open_for``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker; ``allow`` is cheap while closed (one attribute test)."""

    __slots__ = (
        "_clock",
        "_failures",
        "_on_change",
        "_open_for",
        "_opened_at",
        "_probe_at",
        "_threshold",
    )

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        open_for: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        """``on_change(state)`` is told of every transition (and the initial closed state)."""
        self._threshold = failure_threshold
        self._open_for = open_for
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_at: float | None = None  # when the half-open probe was let through
        self._on_change = on_change
        if on_change is not None:
            on_change(CLOSED)

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        return OPEN if self._probe_at is None else HALF_OPEN

    def allow(self) -> bool:
        """Whether a request may go to the service now (``False``: answer 503)."""
        if self._opened_at is None:
            return True
        now = self._clock()
        # A probe whose outcome never came back (its client left) is replaced after a while.
        since = self._opened_at if self._probe_at is None else self._probe_at
        if now - since < self._open_for:
            return False
        self._probe_at = now
        if self._on_change is not None:
            self._on_change(HALF_OPEN)
        return True

    def success(self) -> None:
        """The service answered: close (or stay closed)."""
        if self._failures or self._opened_at is not None:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = self._probe_at = None
            if was_open and self._on_change is not None:
                self._on_change(CLOSED)

    def failure(self) -> None:
        """The service could not be reached or said it is unavailable."""
        if self._probe_at is not None:
            self._open()
        elif self._opened_at is None:
            self._failures += 1
            if self._failures >= self._threshold:
                self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._probe_at = None
        if self._on_change is not None:
            self._on_change(OPEN)
