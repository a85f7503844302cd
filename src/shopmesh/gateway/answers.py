"""Answers the gateway makes itself: errors in the platform's shape, probes, preflights."""

from __future__ import annotations

import orjson

from shopmesh.gateway.server import ClientError, Exchange, Headers
from shopmesh.kit.http import error_body

_JSON = b"application/json"
_HEALTHY = orjson.dumps({"status": "ok"})
_READY = orjson.dumps({"status": "ready"})


def error(exchange: Exchange, status: int, message: str, code: str, headers: Headers) -> None:
    """The platform's error shape (or a cut connection once an answer has started)."""
    if exchange.started:
        exchange.abort()
        return
    body = error_body(message, code=code, request_id=exchange.request_id)
    all_headers = [
        (b"content-type", _JSON),
        *headers,
        (b"x-request-id", exchange.request_id.encode("ascii")),
    ]
    exchange.respond(status, all_headers, body)


def client_failed(exchange: Exchange, failure: ClientError, cors: Headers) -> None:
    """The client's side failed: its error, or nothing when it is gone or an answer started."""
    if failure.status and not exchange.started and not exchange.client_gone:
        exchange.close_after = True  # what is left of the request is not read
        error(exchange, failure.status, str(failure), failure.code, cors)
    elif not exchange.finished:
        exchange.abort()


def document(exchange: Exchange, body: bytes, headers: Headers) -> None:
    """A JSON document the gateway serves itself (the events' AsyncAPI description)."""
    all_headers = [
        (b"content-type", _JSON),
        (b"cache-control", b"no-cache"),
        *headers,
        (b"x-request-id", exchange.request_id.encode("ascii")),
    ]
    exchange.respond(200, all_headers, body)


def probe(exchange: Exchange, *, ready: bool) -> None:
    """``/health`` (always ok) or ``/ready`` (once the upstream pool is open)."""
    if exchange.path == "/health":
        exchange.respond(200, [(b"content-type", _JSON)], _HEALTHY)
    elif ready:
        exchange.respond(200, [(b"content-type", _JSON)], _READY)
    else:
        error(exchange, 503, "gateway is starting", "service_unavailable", [])


def preflight(exchange: Exchange, headers: Headers) -> None:
    """The 204 answer to an allowed origin's CORS preflight."""
    headers.append((b"x-request-id", exchange.request_id.encode("ascii")))
    exchange.respond(204, headers)
