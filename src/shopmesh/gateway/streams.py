"""Caps on live streams (event-stream answers): per user and per gateway.

A stream holds a client connection and an upstream one for as long as it
lives. Without a cap one user could open enough of them to take every
connection; they are counted when the upstream's answer turns out to be a
stream, so no route needs to be marked as one.
"""

from __future__ import annotations

from shopmesh.kit.errors import AppError


class TooManyStreams(AppError):
    """The caller (or the gateway) has as many live streams as allowed."""

    status, code = 429, "too_many_streams"


class StreamLimits:
    """Counts live streams per identity (a user id, or the client address) and in all."""

    def __init__(self, *, per_identity: int, total: int) -> None:
        self._per_identity = per_identity
        self._total = total
        self._live: dict[str, int] = {}
        self.count = 0

    def acquire(self, identity: str) -> None:
        """Count one more stream of ``identity``, or raise :class:`TooManyStreams`."""
        if self.count >= self._total:
            raise TooManyStreams(
                "the gateway carries as many live streams as it may; retry later",
                headers={"Retry-After": "5"},
            )
        live = self._live.get(identity, 0)
        if live >= self._per_identity:
            raise TooManyStreams(
                f"at most {self._per_identity} live streams at once; close one first",
                headers={"Retry-After": "5"},
            )
        self._live[identity] = live + 1
        self.count += 1

    def release(self, identity: str) -> None:
        live = self._live.get(identity, 0) - 1
        if live > 0:
            self._live[identity] = live
        else:
            self._live.pop(identity, None)
        self.count -= 1
