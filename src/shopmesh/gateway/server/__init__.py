"""The gateway's own HTTP/1.1 server core: asyncio protocols and httptools, strictly bounded.

uvicorn (and any ASGI server) merges chunked trailers into the headers,
answers malformed framing with a text/plain 400 after the app may already have
forwarded the request, and has no header size or header-time limits; the
gateway is the platform's one door, so it parses and bounds requests itself.
"""

from shopmesh.gateway.server.errors import (
    BadFraming,
    BodyTooLarge,
    ClientError,
    ClientGone,
    ClientTimeout,
)
from shopmesh.gateway.server.exchange import Exchange
from shopmesh.gateway.server.head import HeaderTooLarge
from shopmesh.gateway.server.limits import Limits
from shopmesh.gateway.server.listener import App, HttpServer
from shopmesh.gateway.server.wire import Headers

__all__ = [
    "App",
    "BadFraming",
    "BodyTooLarge",
    "ClientError",
    "ClientGone",
    "ClientTimeout",
    "Exchange",
    "HeaderTooLarge",
    "Headers",
    "HttpServer",
    "Limits",
]
