"""Writing requests: where an instance listens, the request head, a streamed body."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from shopmesh.gateway.upstream_http.response import RawHeaders

if TYPE_CHECKING:
    from shopmesh.gateway.upstream_http.connection import UpstreamConnection

Body = bytes | AsyncIterable[bytes] | None

_CHUNKED_END = b"0\r\n\r\n"


@dataclass(frozen=True, slots=True, eq=False)
class Origin:
    """Where an instance listens: ``http://host:port``.

    One per base URL (the client keeps them), so identity is equality: the pools'
    dict lookups hash it in C instead of through a generated ``__hash__``.
    """

    host: str
    port: int
    host_header: bytes

    @classmethod
    def parse(cls, base: str) -> Origin:
        parts = urlsplit(base)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream {base!r} is not an http://host:port address")
        port = parts.port or 80
        return cls(parts.hostname, port, parts.netloc.encode("idna"))


def request_head(
    method: str, target: str, origin: Origin, headers: RawHeaders, body: Body
) -> bytes:
    """The request line and headers (``Host`` first, then the framing the body needs)."""
    lines = [f"{method} {target} HTTP/1.1\r\nhost: ".encode("latin-1"), origin.host_header]
    for name, value in headers:
        lines += (b"\r\n", name, b": ", value)
    if body is not None:  # (most requests have none)
        line = framing(headers, body)
        if line is not None:
            lines.append(line)
    lines.append(b"\r\n\r\n")
    return b"".join(lines)


def framing(headers: RawHeaders, body: Body) -> bytes | None:
    """The Content-Length / Transfer-Encoding line the body needs (None: the caller's stands)."""
    if body is None:
        return None
    if isinstance(body, bytes):
        return b"\r\ncontent-length: %d" % len(body)
    if any(name == b"content-length" for name, _ in headers):
        return None  # a streamed body of known size keeps the client's Content-Length
    return b"\r\ntransfer-encoding: chunked"


async def write_streamed(
    conn: UpstreamConnection, body: AsyncIterable[bytes], *, chunked: bool, timeout: float
) -> bool:
    """Write the body as it comes; False when the upstream answered before it was all sent.

    The last chunk goes out only once the body iterator ended normally: when it
    raises (the client's framing broke, it went away or was too slow), the
    caller aborts the connection and the upstream never sees the request end.
    """
    async for chunk in body:
        if conn.answered:
            return False  # it answered (or gave up) without reading it all
        if chunk:
            conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            await conn.drain(timeout)
    if chunked:
        conn.write(_CHUNKED_END)
    return True
