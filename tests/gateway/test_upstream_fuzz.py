"""Differential fuzz: the gateway's upstream client against h11, on generated answers.

Answers are built from valid and broken pieces (lengths right, wrong, doubled,
listed; chunked alone, with a length, after another coding; close-delimited;
1xx first; folded and malformed header lines; a tail of extra bytes). h11
reads each as the reference. The properties:

- whenever h11 reads a complete answer, the client returns the same status and
  body, or refuses it for a documented strictness: a folded header line (RFC 9112
  5.2 lets a gateway answer such an answer with 502; h11 unfolds it), or a
  Content-Length given as a list of equal values (RFC 9110 8.6 lets a recipient
  reject it; h11 takes one), a control character in a field value (RFC 9110
  5.5 forbids them; h11 lets them through), or both Content-Length and
  Transfer-Encoding (RFC 9112 6.3: "ought to be handled as an error"; h11 lets
  the coding win);
- whenever the client returns an answer, h11 read the same one (never a body h11
  would frame differently);
- a connection is never reused when what followed the answer was out of step:
  the next request on the same upstream always gets its own answer.
"""

from __future__ import annotations

import asyncio
import re

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopmesh.gateway.upstream_http import UpstreamClient, UpstreamError

SECOND = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecond"
EXTRA_LINES = [
    b"Connection: close",
    b"Connection: keep-alive",
    b"Content-Type: text/plain",
    b"X-Folded: a\r\n b",
    b"X-Space : a",
    b"X-Control: a\x01b",
    b"X-Empty:",
    b"Trailer: x-checksum",
]
TAILS = [b"", b"", b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nextra", b"garbage\r\n\r\n"]


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from([200, 201, 204, 304, 404, 500]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"]))
    body = draw(st.binary(max_size=40))
    framing = draw(
        st.sampled_from(
            [
                "length",
                "length",
                "chunked",
                "chunked",
                "close",
                "length and chunked",
                "two lengths",
                "wrong length",
                "gzip then chunked",
                "length list",
                "gzip",
            ]
        )
    )
    lines = [b"%s %d X" % (version, status)]
    if draw(st.booleans()) and version == b"HTTP/1.1":
        lines = [b"HTTP/1.1 100 Continue", b"", *lines]
    lines += draw(st.lists(st.sampled_from(EXTRA_LINES), max_size=3))
    encoded = body
    if framing in ("chunked", "length and chunked", "gzip then chunked"):
        sizes = draw(st.lists(st.integers(1, 16), max_size=4))
        pieces, rest = [], body
        for size in sizes:
            pieces.append(rest[:size])
            rest = rest[size:]
        pieces.append(rest)
        encoded = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"
        coding = b"gzip, chunked" if framing == "gzip then chunked" else b"chunked"
        lines.append(b"Transfer-Encoding: " + coding)
    if framing in ("length", "length and chunked"):
        lines.append(b"Content-Length: %d" % len(encoded))
    elif framing == "two lengths":
        lines += [b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1)]
    elif framing == "wrong length":
        lines.append(b"Content-Length: %d" % (len(body) + draw(st.sampled_from([-1, 1, 7]))))
    elif framing == "length list":
        lines.append(b"Content-Length: %d, %d" % (len(body), len(body)))
    elif framing == "gzip":
        lines.append(b"Transfer-Encoding: gzip")
    return b"\r\n".join(lines) + b"\r\n\r\n" + encoded + draw(st.sampled_from(TAILS))


def h11_reads(data: bytes, *, eof: bool) -> tuple[int, bytes] | str:
    """What h11 makes of ``data`` as the answer to a GET: (status, body), or why not."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("host", "upstream")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(data)
    if eof:
        conn.receive_data(b"")
    status, body = 0, b""
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, body
            elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return "incomplete"
    except h11.RemoteProtocolError as exc:
        return f"refused: {exc}"


async def client_reads(data: bytes, *, keep_open: bool) -> tuple[tuple[int, bytes] | str, object]:
    """The upstream client's reading of ``data``, then of a second request's answer.

    The first connection gets ``data``; every later request (on that connection
    when it was kept, or on a new one) gets a clean answer of its own.
    """
    served = 0
    handlers: set[asyncio.Task[object]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        served += 1
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        first = served == 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(data if first else SECOND)
            await writer.drain()
            if first and not keep_open:
                return
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(SECOND)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    client = UpstreamClient(limit=4, keepalive=30, connect_timeout=2)
    try:
        first = await _read(client, base)
        second = await _read(client, base) if keep_open else None
    finally:
        await client.close()
        server.close()
        if handlers:  # they end once the client's connections are gone
            await asyncio.wait(handlers, timeout=2)
    return first, second


_FOLDED = re.compile(rb"\r\n[ \t]")
_LENGTH_LIST = re.compile(rb"\r\nContent-Length: [^\r]*,")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _stricter_on_purpose(data: bytes, ours: object) -> bool:
    """Whether ``ours`` is a refusal for one of the strictnesses the module docstring names."""
    parts = data.split(b"\r\n\r\n")
    head = parts[1] if data.startswith(b"HTTP/1.1 100") else parts[0]  # the final answer's
    fields = b"".join(head.split(b"\r\n")[1:])
    both = b"\r\nContent-Length:" in head and b"\r\nTransfer-Encoding:" in head
    return isinstance(ours, str) and bool(
        _FOLDED.search(head) or _LENGTH_LIST.search(head) or _CONTROL.search(fields) or both
    )


async def _read(client: UpstreamClient, base: str) -> tuple[int, bytes] | str:
    try:
        response = await client.request(base, "GET", "/", [], None, timeout=0.5)
        try:
            return response.status, await response.read()
        finally:
            response.close()
    except (UpstreamError, TimeoutError) as exc:
        return f"error: {exc!r}"


@settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(answers())
def test_the_upstream_client_reads_answers_as_h11_does(data: bytes) -> None:
    # Kept open when h11 sees the answer end without the connection's end: the client
    # may then reuse the connection, and the bytes after the answer must not mislead it.
    without_eof = h11_reads(data, eof=False)
    keep_open = isinstance(without_eof, tuple)
    reference = without_eof if keep_open else h11_reads(data, eof=True)
    ours, second = asyncio.run(client_reads(data, keep_open=keep_open))
    if isinstance(reference, tuple) and not _stricter_on_purpose(data, ours):
        assert ours == reference, (data, reference, ours)
    if isinstance(ours, tuple):
        assert ours == reference, (data, reference, ours)
    if keep_open:
        assert second == (200, b"second"), (data, second)
