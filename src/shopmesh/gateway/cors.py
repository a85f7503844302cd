"""CORS from an allow-list, with credentials (the UI keeps its refresh token in a cookie).

All header values are built once; per request only the caller's origin is
looked up and echoed.
"""

from __future__ import annotations

import re

from shopmesh.gateway.server import Headers

_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
# Headers a browser script may read from our responses.
_EXPOSE = (
    b"X-Request-ID, X-Total-Count, Location, RateLimit-Limit, RateLimit-Remaining, "
    b"RateLimit-Reset, Retry-After, Idempotent-Replayed"
)
# What a preflight may ask for is echoed back, so it must look like a list of header names.
_HEADER_LIST = re.compile(rb"^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$")
_DEFAULT_ALLOW_HEADERS = b"Authorization, Content-Type, X-Request-ID, traceparent, tracestate"


class Cors:
    """Decides which origins may call the API from a browser."""

    def __init__(self, origins: list[str], *, max_age: int) -> None:
        self._origins = frozenset(origin.encode() for origin in origins)
        self._max_age = b"%d" % max_age

    def allows(self, origin: bytes) -> bool:
        return origin in self._origins

    def response_headers(self, origin: bytes | None) -> Headers:
        """Headers for an actual (non-preflight) response to a request from ``origin``."""
        if origin is None:
            return []
        if origin not in self._origins:
            # The answer still depends on Origin, so caches must know.
            return [(b"vary", b"Origin")]
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", _EXPOSE),
            (b"vary", b"Origin"),
        ]

    def preflight_headers(self, origin: bytes, requested_headers: bytes | None) -> Headers:
        """Headers of the 204 answer to an allowed origin's preflight."""
        allow_headers = _DEFAULT_ALLOW_HEADERS
        if requested_headers and _HEADER_LIST.match(requested_headers.strip()):
            allow_headers = requested_headers.strip()
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", _METHODS),
            (b"access-control-allow-headers", allow_headers),
            (b"access-control-max-age", self._max_age),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
