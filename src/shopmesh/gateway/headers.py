"""What the proxy sends upstream and passes back: the target path and the header lists."""

from __future__ import annotations

from urllib.parse import quote

from shopmesh.gateway.routing import Route
from shopmesh.gateway.server import Exchange, Headers

# Never forwarded upstream: hop-by-hop headers (RFC 9110 7.6.1) and the ones the gateway sets.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
_REQUEST_DROP = _HOP_BY_HOP | {
    b"host",
    b"content-length",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"x-request-id",
    b"traceparent",
    # The gateway answers the client's Expect itself.
    b"expect",
}
# From a peer that is not a trusted proxy, these are hearsay about who the client is.
_REQUEST_DROP_UNTRUSTED = _REQUEST_DROP | {b"x-real-ip", b"forwarded"}
# Never passed back: hop-by-hop, framing, and what the gateway sets itself.
_RESPONSE_DROP = _HOP_BY_HOP | {b"content-length", b"date", b"server", b"x-request-id"}
# Characters kept as they are when a decoded path has to be re-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def upstream_target(exchange: Exchange, route: Route) -> str:
    """The upstream path (prefix rewritten, encoding kept) plus the query string."""
    prefix = route.prefix
    raw = exchange.raw_path.decode("latin-1")
    if raw.startswith(prefix):
        target = route.rewrite + raw[len(prefix) :]
    else:
        # The prefix itself arrived percent-encoded: rebuild from the decoded path we matched.
        target = route.rewrite + quote(exchange.path[len(prefix) :], safe=_PATH_SAFE)
    query = exchange.query
    return f"{target}?{query.decode('latin-1')}" if query else target


def request_headers(
    exchange: Exchange,
    request_id: bytes,
    trusted: bool,
    streamed: bool,
    traceparent: str | None,
) -> Headers:
    """The client's end-to-end headers plus ``X-Forwarded-*``, ``X-Request-ID`` and trace context.

    ``Host`` is the upstream client's to set (the instance's address).
    """
    drop = _REQUEST_DROP if trusted else _REQUEST_DROP_UNTRUSTED
    headers: Headers = [
        (name, value)
        for name, value in exchange.headers
        if name not in drop and not name.startswith(b"proxy-")
    ]
    fields = exchange.fields
    connection = fields.get(b"connection")
    if connection is not None:
        # Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1).
        named = {token.strip() for token in connection.lower().split(b",")}
        headers = [(name, value) for name, value in headers if name not in named]
    if streamed and exchange.content_length is not None:
        # A streamed body of known size keeps its Content-Length (else it goes chunked).
        headers.append((b"content-length", b"%d" % exchange.content_length))
    peer = exchange.client.encode("latin-1")
    host = fields.get(b"host")
    if trusted:
        forwarded_for = fields.get(b"x-forwarded-for")
        headers += (
            (b"x-forwarded-for", b"%b, %b" % (forwarded_for, peer) if forwarded_for else peer),
            (b"x-forwarded-proto", fields.get(b"x-forwarded-proto") or b"http"),
        )
        host = fields.get(b"x-forwarded-host") or host
    else:
        headers += ((b"x-forwarded-for", peer), (b"x-forwarded-proto", b"http"))
    if host:
        headers.append((b"x-forwarded-host", host))
    headers.append((b"x-request-id", request_id))
    if traceparent is not None:
        headers.append((b"traceparent", traceparent.encode("ascii")))
    return headers


def response_headers(raw: Headers, extra: Headers) -> Headers:
    """The upstream's headers (names lower-cased by the client) less hop-by-hop and framing
    ones, then ``extra``."""
    headers = [(name, value) for name, value in raw if name not in _RESPONSE_DROP]
    headers.extend(extra)
    return headers
