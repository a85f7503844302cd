"""The proxy's HTTP/1.1 client: pooled keep-alive connections on asyncio protocols.

The gateway forwards every request of the platform, so its client does only
what a proxy needs: write the request head (and body) in one go, parse the
answer with httptools (the C parser uvicorn uses), hand small answers over
whole and large ones chunk by chunk. aiohttp's client, which the proxy used
before, spent more CPU per request than the rest of the gateway together.

What the proxy relies on:

- ``ConnectFailed``: no connection could be made, so nothing reached the
  instance (safe to try another one).
- ``Disconnected``: the connection closed before the answer was complete.
- ``UpstreamTimeout`` (a ``TimeoutError``): the upstream stayed silent for
  longer than the read timeout once the request was out (or between two
  chunks of its answer), or would not take the request's body.
- ``BadResponse``: the answer is not valid HTTP/1.1.
- A connection goes back to the pool only when its answer was read to the
  end, the request was written whole and the upstream keeps it alive, once
  per exchange. A connection whose framing is in doubt (bytes nobody asked
  for, an answer to a request still being written, ``Connection: close``,
  an answer delimited by the connection's end, a HEAD answer) is closed,
  never reused. Pooled connections idle longer than ``keepalive`` (below the
  backends' own idle timeout) are closed instead of reused.

Split in four: :mod:`.connection` (one connection's protocol), :mod:`.response`
(an answer as it arrives), :mod:`.sending` (request heads and streamed bodies)
and :mod:`.pool` (the client and its pools).
"""

from shopmesh.gateway.upstream_http.errors import (
    BadResponse,
    ConnectFailed,
    Disconnected,
    UpstreamError,
    UpstreamTimeout,
)
from shopmesh.gateway.upstream_http.pool import UpstreamClient
from shopmesh.gateway.upstream_http.response import RawHeaders, Response
from shopmesh.gateway.upstream_http.sending import Body

__all__ = [
    "BadResponse",
    "Body",
    "ConnectFailed",
    "Disconnected",
    "RawHeaders",
    "Response",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamTimeout",
]
