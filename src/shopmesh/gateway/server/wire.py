"""Response heads as bytes: status lines, the Date header, framing."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

Headers = list[tuple[bytes, bytes]]

_STATUS_LINES = {
    status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode("latin-1"))
    for status in HTTPStatus
}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_CHUNK_END = b"0\r\n\r\n"


def status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    return line if line is not None else b"HTTP/1.1 %d Unknown\r\n" % status


class _DateLine:
    """``date: <IMF-fixdate>\\r\\n``, formatted once a second."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = 0
        self._line = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = b"date: %s\r\n" % formatdate(now, usegmt=True).encode("ascii")
        return self._line


date_line = _DateLine()


def has_no_body(status: int) -> bool:
    """1xx, 204 and 304 answers never have a body (nor framing headers)."""
    return status < 200 or status == 204 or status == 304


def response_head(
    status: int,
    headers: Headers,
    length: int | None,
    chunked: bool,
    close: bool,
    version: str = "1.1",
) -> bytes:
    """The head of an answer; ``length`` None and not ``chunked``: delimited by the close.

    ``version`` is the request's: an HTTP/1.0 client kept alive is told so.
    """
    line = _STATUS_LINES.get(status)
    parts = [line if line is not None else status_line(status)]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(date_line())
    if length is not None:
        parts.append(b"content-length: %d\r\n" % length)
    elif chunked:
        parts.append(b"transfer-encoding: chunked\r\n")
    if close:
        parts.append(b"connection: close\r\n")
    elif version == "1.0":
        parts.append(b"connection: keep-alive\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def last_chunk() -> bytes:
    return _CHUNK_END
