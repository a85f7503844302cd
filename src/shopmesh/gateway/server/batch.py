"""Writes held until the end of the event loop's turn, then sent one after the other.

On a loaded machine each write to a loopback socket wakes its reader (the
client, the upstream), and the scheduler often hands it the CPU at once: a
proxy that writes as soon as each answer is ready is preempted about once per
write, in the middle of its turn, and waits for the CPU again before it reads
the next request. Writing what a turn produced together, after the turn's
reads and Python work, lets the gateway finish a batch of requests before it
wakes the processes it answers. An answer waits at most for the rest of its
turn (the requests that arrived with it).

Per connection the order of writes is kept (one list for all). Closing a
transport must send what is held first (:meth:`WriteBatch.flush`); what is
held for a transport aborted meanwhile is never sent (half a request never
reaches an upstream).
"""

from __future__ import annotations

import asyncio


class WriteBatch:
    """The writes of one turn of ``loop``, sent by one callback at its end."""

    __slots__ = ("_held", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._held: list[tuple[asyncio.WriteTransport, bytes]] = []

    def write(self, transport: asyncio.WriteTransport, data: bytes) -> None:
        """Send ``data`` on ``transport`` at the end of this turn."""
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append((transport, data))

    def flush(self) -> None:
        """Send everything held now (before a close, or at the end of the turn)."""
        held, self._held = self._held, []
        for transport, data in held:
            if not transport.is_closing():
                transport.write(data)
