"""Checks on a request's head once it is in: its target and its body's framing."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httptools

from shopmesh.gateway.server.errors import BadFraming, ClientError
from shopmesh.gateway.server.exchange import Exchange

_SLASHES = re.compile(rb"//+")


class HeaderTooLarge(ClientError):
    """The head is over the size or field-count limit."""

    status, code = 431, "request_header_fields_too_large"


def split_target(exchange: Exchange) -> ClientError | None:
    """Split ``exchange.raw_path`` (the whole target so far) into path and query.

    Absolute-form targets keep their path and query. Repeated slashes are
    merged, as nginx does, so routing and the upstream see one form.
    """
    target = exchange.raw_path
    if not target.startswith(b"/"):
        if exchange.method == "CONNECT":
            return BadFraming("CONNECT is not supported")
        lower = target[:8].lower()
        if lower.startswith((b"http://", b"https://")):
            url = httptools.parse_url(target)
            target = (url.path or b"/") + (b"?" + url.query if url.query else b"")
        elif target != b"*" or exchange.method != "OPTIONS":
            return BadFraming("the request target must be a path")
    path, _, query = target.partition(b"?")
    path = path.partition(b"#")[0]
    if b"//" in path:
        path = _SLASHES.sub(b"/", path)
    decoded = path.decode("ascii")  # llhttp lets only visible ASCII into a target
    if "%" in decoded:
        decoded = unquote(decoded, errors="replace")
        if "//" in decoded:
            decoded = re.sub("//+", "/", decoded)
    exchange.raw_path, exchange.path = path, decoded
    exchange.query = query.partition(b"#")[0]
    return None


def check_framing(exchange: Exchange) -> ClientError | None:
    """How the body is framed; an error when the gateway will not forward that framing."""
    fields = exchange.fields
    if exchange.version == "1.1" and b"host" not in fields:
        return BadFraming("an HTTP/1.1 request needs a Host header")
    coding = fields.get(b"transfer-encoding")
    if coding is not None:
        if coding.strip().lower() != b"chunked":
            return BadFraming("only the chunked transfer coding is supported")
        exchange.body_expected = True
        return None
    length = fields.get(b"content-length")
    if length is not None:
        exchange.content_length = int(length)  # llhttp refused anything but digits
        exchange.body_expected = exchange.content_length > 0
    return None
