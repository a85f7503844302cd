"""The bounds the server core puts on every client connection."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Timeouts in seconds, sizes in bytes."""

    # A request's head (request line and headers) must arrive within this time.
    header_timeout: float = 15.0
    # An idle kept-alive connection is closed after this time.
    keepalive_timeout: float = 75.0
    # A request's body must arrive within this time (time the gateway is not reading excluded).
    body_timeout: float = 60.0
    max_header_bytes: int = 32 * 1024
    max_headers: int = 100
    max_body_bytes: int = 1024 * 1024
    # Reading from a client pauses while this much of its body waits to be forwarded.
    body_buffer_bytes: int = 64 * 1024
    # In-flight exchanges get this long to finish when the server stops.
    graceful_shutdown: float = 10.0

    @property
    def tick(self) -> float:
        """How often deadlines are checked (a fraction of the shortest timeout)."""
        return min(1.0, self.header_timeout / 4, self.body_timeout / 4)
