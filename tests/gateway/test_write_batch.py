"""The gateway's writes of one loop turn go out at its end, in order, and before a close
(checked on real loopback connections)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shopmesh.gateway.server.batch import WriteBatch


class _Accepted(asyncio.Protocol):
    def __init__(self, made: asyncio.Future[asyncio.Transport]) -> None:
        self._made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._made.set_result(transport)  # type: ignore[arg-type]


@asynccontextmanager
async def _connection() -> AsyncIterator[tuple[asyncio.Transport, asyncio.StreamReader]]:
    """The server side's transport of a loopback connection, and the client's reader."""
    loop = asyncio.get_running_loop()
    made: asyncio.Future[asyncio.Transport] = loop.create_future()
    server = await loop.create_server(lambda: _Accepted(made), "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    transport = await made
    try:
        yield transport, reader
    finally:
        transport.abort()
        writer.close()
        server.close()
        await server.wait_closed()


async def test_writes_of_a_turn_go_out_at_its_end_in_order() -> None:
    async with _connection() as (transport, reader):
        batch = WriteBatch(asyncio.get_running_loop())
        for piece in (b"one ", b"two ", b"three"):
            batch.write(transport, piece)
        assert await reader.readexactly(13) == b"one two three"


async def test_a_flush_before_close_sends_what_is_held() -> None:
    async with _connection() as (transport, reader):
        batch = WriteBatch(asyncio.get_running_loop())
        batch.write(transport, b"the answer")
        batch.flush()
        transport.close()
        assert await reader.read() == b"the answer"
