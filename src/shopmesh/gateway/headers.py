"""What the proxy sends upstream and passes back: the target path and the header lists."""

from __future__ import annotations

from urllib.parse import quote

from shopmesh.gateway.responses import Headers
from shopmesh.gateway.routing import Route
from shopmesh.kit.http import Scope

# Never forwarded upstream: hop-by-hop headers (RFC 9110 7.6.1) and the ones the gateway sets.
_REQUEST_DROP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-request-id",
        # The gateway answers the client's Expect itself (uvicorn sends 100 Continue).
        b"expect",
    }
)
# Never passed back: hop-by-hop, and what uvicorn or the middleware add themselves.
_RESPONSE_DROP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
        b"proxy-authenticate",
        b"date",
        b"server",
        b"x-request-id",
    }
)
# Characters kept as they are when a decoded path has to be re-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def upstream_target(scope: Scope, route: Route) -> str:
    """The upstream path (prefix rewritten, encoding kept) plus the query string."""
    prefix = route.prefix
    raw_path: bytes | None = scope.get("raw_path")
    raw = raw_path.decode("latin-1") if raw_path else None
    if raw is not None and raw.startswith(prefix):
        target = route.rewrite + raw[len(prefix) :]
    else:
        # The prefix itself arrived percent-encoded: rebuild from the decoded path we matched.
        target = route.rewrite + quote(scope["path"][len(prefix) :], safe=_PATH_SAFE)
    query: bytes = scope.get("query_string", b"")
    return f"{target}?{query.decode('latin-1')}" if query else target


def request_headers(scope: Scope, *, streamed: bool, trust_forwarded: bool) -> Headers:
    """The client's end-to-end headers plus ``X-Forwarded-*`` and ``X-Request-ID``.

    ``Host`` is the upstream client's to set (the instance's address).
    """
    headers: Headers = []
    own: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name not in _REQUEST_DROP and not name.startswith(b"proxy-"):
            headers.append((name, value))
        else:
            own[name] = value
    if b"connection" in own:
        # Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1).
        named = {token.strip() for token in own[b"connection"].lower().split(b",")}
        headers = [(name, value) for name, value in headers if name not in named]
    if streamed and b"content-length" in own:
        # A streamed body of known size keeps its Content-Length (else it goes chunked).
        headers.append((b"content-length", own[b"content-length"]))
    headers.extend(_forwarding(scope, own, trust_forwarded=trust_forwarded))
    return headers


def _forwarding(scope: Scope, own: dict[bytes, bytes], *, trust_forwarded: bool) -> Headers:
    peer = (scope.get("client") or ("", 0))[0].encode("latin-1")
    forwarded_for = own.get(b"x-forwarded-for") if trust_forwarded else None
    proto = (own.get(b"x-forwarded-proto") if trust_forwarded else None) or scope["scheme"].encode(
        "latin-1"
    )
    host = (own.get(b"x-forwarded-host") if trust_forwarded else None) or own.get(b"host")
    headers = [
        (b"x-forwarded-for", b"%b, %b" % (forwarded_for, peer) if forwarded_for else peer),
        (b"x-forwarded-proto", proto),
    ]
    if host:
        headers.append((b"x-forwarded-host", host))
    request_id = scope.get("request_id")
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode("ascii")))
    return headers


def response_headers(raw: Headers, extra: Headers) -> Headers:
    """The upstream's headers (lower-cased, hop-by-hop dropped) followed by ``extra``."""
    headers: Headers = []
    for name, value in raw:
        lower = name.lower()
        if lower not in _RESPONSE_DROP:
            headers.append((lower, value))
    headers.extend(extra)
    return headers
