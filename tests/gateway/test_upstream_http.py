"""The proxy's HTTP/1.1 client against real sockets: a scripted server writes raw answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from harness.resources import free_port
from shopmesh.gateway.upstream_http import (
    BadResponse,
    ConnectFailed,
    Disconnected,
    UpstreamClient,
    UpstreamTimeout,
)
from shopmesh.kit.aio import poll

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class Scripted:
    """A TCP server answering each connection with ``script``; it records request heads."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.heads: list[bytes] = []
        self.connections = 0
        self.base = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def head(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        return head


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Script], Awaitable[Scripted]]]:
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> Scripted:
        scripted = Scripted(script)
        server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        scripted.base = f"http://127.0.0.1:{port}"
        return scripted

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    upstream = UpstreamClient(limit=16, keepalive=30, connect_timeout=2)
    yield upstream
    await upstream.close()


async def test_a_request_goes_out_with_the_instance_host_and_framing(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.head(reader)
        body = await reader.readexactly(7)
        writer.write(b"HTTP/1.1 201 Created\r\nX-Echo: " + body + b"\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()

    server = await serve(script)
    resp = await client.request(
        server.base, "POST", "/a/b?c=1", [(b"x-request-id", b"r1")], b"payload", timeout=5
    )
    assert resp.status == 201
    assert (b"x-echo", b"payload") in resp.headers  # names lower-cased
    assert await resp.read() == b""
    head = server.heads[0].decode()
    assert head.startswith("POST /a/b?c=1 HTTP/1.1\r\n")
    port = server.base.rsplit(":", 1)[1]
    assert f"host: 127.0.0.1:{port}\r\n" in head
    assert "x-request-id: r1\r\n" in head
    assert "content-length: 7\r\n" in head


async def test_keep_alive_connections_are_reused_and_close_is_honoured(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in (
            OK,
            OK,
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
        ):
            await server.head(reader)
            writer.write(answer)
            await writer.drain()
        await reader.read()  # the client must hang up after the close

    server = await serve(script)
    for _ in range(4):
        resp = await client.request(server.base, "GET", "/", [], None, timeout=5)
        assert await resp.read() == b"{}"
    assert len(server.heads) == 4
    assert server.connections == 2  # three answers on the first, then a new one


async def test_a_chunked_answer_arrives_piece_by_piece(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    release = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"7\r\nsecond\n\r\n0\r\n\r\n")
        await writer.drain()
        await reader.read()

    server = await serve(script)
    resp = await client.request(server.base, "GET", "/events", [], None, timeout=5)
    assert resp.media_type == b"text/event-stream"
    assert resp.content_length is None
    chunks = resp.iter_chunks()
    assert await anext(chunks) == b"first\n"
    release.set()
    assert await anext(chunks) == b"second\n"
    with pytest.raises(StopAsyncIteration):
        await anext(chunks)


async def test_a_streamed_body_without_length_goes_chunked(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    received: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.head(reader)
        received.append(await reader.readuntil(b"0\r\n\r\n"))
        writer.write(OK)
        await writer.drain()
        await reader.read()

    async def body() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b""
        yield b"cde"

    server = await serve(script)
    resp = await client.request(server.base, "PUT", "/", [], body(), timeout=5)
    assert await resp.read() == b"{}"
    assert b"transfer-encoding: chunked" in server.heads[0]
    assert received == [b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"]


async def test_interim_answers_are_skipped_and_head_answers_have_no_body(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.head(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
        await server.head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 512\r\n\r\n")
        await writer.drain()
        await reader.read()

    server = await serve(script)
    resp = await client.request(server.base, "GET", "/", [], None, timeout=5)
    assert (resp.status, await resp.read()) == (200, b"{}")
    head = await client.request(server.base, "HEAD", "/", [], None, timeout=5)
    assert (head.status, head.content_length, await head.read()) == (200, 512, b"")


async def test_a_refused_connection_is_a_connect_failure(client: UpstreamClient) -> None:
    with pytest.raises(ConnectFailed):
        await client.request(f"http://127.0.0.1:{free_port()}", "GET", "/", [], None, timeout=5)


async def test_a_connection_closed_before_any_answer_is_disconnected(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.head(reader)  # then hang up without a word

    server = await serve(script)
    with pytest.raises(Disconnected):
        await client.request(server.base, "GET", "/", [], None, timeout=5)


async def test_an_answer_cut_short_fails_its_reader(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await writer.drain()

    server = await serve(script)
    resp = await client.request(server.base, "GET", "/", [], None, timeout=5)
    with pytest.raises(Disconnected):
        await resp.read()


async def test_silence_past_the_read_timeout_is_an_upstream_timeout(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await server.head(reader)
        if b"/partial" in head:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
            await writer.drain()
        await reader.read()  # nothing (more) ever comes

    server = await serve(script)
    with pytest.raises(UpstreamTimeout):
        await client.request(server.base, "GET", "/silent", [], None, timeout=0.2)
    resp = await client.request(server.base, "GET", "/partial", [], None, timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        await resp.read()


async def test_garbage_from_the_upstream_is_a_bad_response(
    serve: Callable[[Script], Awaitable[Scripted]], client: UpstreamClient
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.head(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        await reader.read()

    server = await serve(script)
    with pytest.raises(BadResponse):
        await client.request(server.base, "GET", "/", [], None, timeout=5)


async def test_at_the_connection_limit_a_request_waits_for_a_free_connection(
    serve: Callable[[Script], Awaitable[Scripted]],
) -> None:
    release = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await server.head(reader)
            await release.wait()
            writer.write(OK)
            await writer.drain()

    server = await serve(script)
    client = UpstreamClient(limit=1, keepalive=30, connect_timeout=2)
    try:
        first = asyncio.create_task(client.request(server.base, "GET", "/1", [], None, timeout=5))
        second = asyncio.create_task(client.request(server.base, "GET", "/2", [], None, timeout=5))

        async def first_arrived() -> bool:
            return len(server.heads) == 1

        await poll(first_arrived, timeout=5, what="the first request")
        assert not second.done()
        release.set()
        for task in (first, second):
            assert await (await task).read() == b"{}"
        assert server.connections == 1
    finally:
        await client.close()
