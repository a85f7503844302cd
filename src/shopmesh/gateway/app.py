"""The gateway as a raw ASGI app: probes, CORS, rate limits, JWT check, then the proxy.

No web framework on the request path: the gateway sits in front of every
request, so each step works on the ASGI scope and header bytes directly.
"""

from __future__ import annotations

import contextlib
import logging

import orjson

from shopmesh.gateway.body import (
    BodyTooLarge,
    ClientDisconnected,
    login_username,
    read_body,
    stream_body,
)
from shopmesh.gateway.cors import Cors
from shopmesh.gateway.discovery import Discovery
from shopmesh.gateway.proxy import Proxy
from shopmesh.gateway.ratelimit import Decision, RateLimiter, tightest
from shopmesh.gateway.responses import Headers, send_error
from shopmesh.gateway.routing import Policy, Route, RouteConfigError, RouteTable, has_dot_segment
from shopmesh.gateway.settings import GatewaySettings
from shopmesh.gateway.upstream_http import Body, UpstreamClient
from shopmesh.gateway.upstreams import Upstreams
from shopmesh.kit.errors import AppError, BadRequest, Forbidden, NotFound
from shopmesh.kit.http import Receive, Scope, Send, send_json
from shopmesh.kit.jwt import CACHED_TOKENS, TokenVerifier
from shopmesh.kit.metrics import render

log = logging.getLogger(__name__)

_HEALTHY = orjson.dumps({"status": "ok"})
_READY = orjson.dumps({"status": "ready"})
_LOGIN = "login"


class PayloadTooLarge(AppError):
    """The request body is over the gateway's limit."""

    status, code = 413, "payload_too_large"


class RateLimited(AppError):
    """A rate limit refused the request; carries Retry-After and RateLimit-* headers."""

    status, code = 429, "rate_limited"

    @classmethod
    def of(cls, decision: Decision) -> RateLimited:
        headers = {name.decode(): value.decode() for name, value in decision.headers()}
        return cls("too many requests, retry later", headers=headers)


class Gateway:
    """The ASGI app; the upstream client and the limit store live from lifespan start to end."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.routes = RouteTable.load(settings.routes_file)
        self.upstreams = Upstreams(
            settings.upstreams,
            eject_for=settings.upstream_eject_seconds,
            failure_threshold=settings.circuit_failure_threshold,
            open_for=settings.circuit_open_seconds,
        )
        self.verifier = TokenVerifier(
            secret=settings.jwt_secret, issuer=settings.jwt_issuer, cache_size=CACHED_TOKENS
        )
        self.cors = Cors(settings.cors_origins, max_age=settings.cors_max_age)
        self.trust_forwarded = settings.trust_forwarded
        self.limit_classes = {
            "ip": settings.rate_limit_ip,
            "user": settings.rate_limit_user,
            _LOGIN: settings.rate_limit_login,
        }
        for route in self.routes.routes:
            if route.limit is not None and route.limit not in self.limit_classes:
                raise RouteConfigError(f"{route.prefix}: unknown limit class {route.limit!r}")
        self.client: UpstreamClient | None = None
        self.proxy: Proxy | None = None
        self.limiter: RateLimiter | None = None
        self.discovery: Discovery | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:  # websockets are not routed (yet)
            await send({"type": "websocket.close", "code": 1008})

    async def startup(self) -> None:
        """Open the upstream connection pool and the rate-limit store; start discovery."""
        settings = self.settings
        if settings.registry_url:
            self.discovery = Discovery(
                settings,
                self.upstreams,
                services={route.service for route in self.routes.routes},
                static=settings.upstreams,
                interval=settings.registry_refresh_interval,
            )
            await self.discovery.start()
        self.client = UpstreamClient(
            limit=settings.upstream_pool_limit,
            keepalive=settings.upstream_keepalive,
            connect_timeout=settings.upstream_connect_timeout,
        )
        self.limiter = RateLimiter.create(self.limit_classes, redis_url=settings.redis_url)
        self.proxy = Proxy(
            self.client,
            self.upstreams,
            default_timeout=settings.upstream_timeout,
            stream_idle_timeout=settings.stream_idle_timeout,
            trust_forwarded=settings.trust_forwarded,
            buffer_bytes=settings.buffer_body_bytes,
        )

    async def shutdown(self) -> None:
        """Stop discovery and close the pool (in-flight streams end with it)."""
        if self.discovery is not None:
            await self.discovery.stop()
            self.discovery = None
        self.proxy = None
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway failed to start")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path in ("/health", "/ready", "/metrics"):
            await self._probe(path, scope, send)
            return
        headers: dict[bytes, bytes] = dict(scope["headers"])
        origin = headers.get(b"origin")
        if scope["method"] == "OPTIONS" and origin and b"access-control-request-method" in headers:
            await self._preflight(scope, send, origin, headers)
            return
        cors = self.cors.response_headers(origin)
        try:
            await self._dispatch(scope, receive, send, headers, cors)
        except AppError as exc:
            extra = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
            await send_error(
                send, scope, exc.status, exc.message, code=exc.code, headers=cors + extra
            )
        except ClientDisconnected:
            pass
        except Exception:
            log.exception("gateway failed on %s %s", scope["method"], path)
            await _send_internal_error(scope, send, cors)

    async def _dispatch(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes], cors: Headers
    ) -> None:
        proxy, limiter = self.proxy, self.limiter
        if proxy is None or limiter is None:
            raise AppError("gateway is not ready", status=503, code="service_unavailable")
        client_ip = self._client_ip(scope, headers)
        shown = _enforce(await limiter.check("ip", client_ip))
        path: str = scope["path"]
        if has_dot_segment(path):
            raise BadRequest("path must not contain '.' or '..' segments")
        route = self.routes.match(path)
        if route is None:
            raise NotFound(f"no route for {path}")
        scope["route_template"] = route.prefix
        if route.needs_auth:
            user_id = self._authenticate(scope, route, headers)
            shown = tightest(shown, _enforce(await limiter.check("user", str(user_id))))
        body = await self._request_body(receive, route, headers)
        if route.limit == _LOGIN:
            shown = tightest(shown, await self._check_login(limiter, client_ip, body))
        extra = (cors + shown.headers()) if shown is not None else cors
        await proxy.forward(scope, receive, send, route=route, body=body, extra_headers=extra)

    def _authenticate(self, scope: Scope, route: Route, headers: dict[bytes, bytes]) -> int:
        raw = headers.get(b"authorization")
        principal = self.verifier.verify_header(raw.decode("latin-1") if raw else None)
        if route.policy is Policy.ADMIN and not principal.is_admin:
            raise Forbidden("this route needs the admin role")
        scope["user_id"] = principal.user_id
        return principal.user_id

    async def _request_body(
        self, receive: Receive, route: Route, headers: dict[bytes, bytes]
    ) -> Body:
        limit = self.settings.max_body_bytes
        buffer = route.limit == _LOGIN  # login bodies are read to find the username
        raw_length = headers.get(b"content-length")
        if raw_length is not None:
            length = _content_length(raw_length)
            if length > limit:
                raise PayloadTooLarge(f"request body larger than {limit} bytes")
            buffer = buffer or length <= self.settings.buffer_body_bytes
        elif b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            return None
        if not buffer:
            return stream_body(receive, limit=limit)
        try:
            return await read_body(receive, limit=limit)
        except BodyTooLarge:
            raise PayloadTooLarge(f"request body larger than {limit} bytes") from None

    async def _check_login(
        self, limiter: RateLimiter, client_ip: str, body: Body
    ) -> Decision | None:
        shown = _enforce(await limiter.check(_LOGIN, "ip", client_ip))
        username = login_username(body) if isinstance(body, bytes) else None
        if username is not None:
            shown = tightest(shown, _enforce(await limiter.check(_LOGIN, "user", username)))
        return shown

    def _client_ip(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        if self.trust_forwarded:
            forwarded = headers.get(b"x-forwarded-for")
            if forwarded:
                # The right-most entry is the one our trusted proxy appended; the rest is hearsay.
                return forwarded.rsplit(b",", 1)[-1].strip().decode("latin-1")
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    async def _probe(self, path: str, scope: Scope, send: Send) -> None:
        if path == "/health":
            await send_json(send, 200, _HEALTHY)
        elif path == "/ready":
            if self.client is None or self.client.closed:
                await send_error(
                    send, scope, 503, "gateway is starting", code="service_unavailable"
                )
            else:
                await send_json(send, 200, _READY)
        else:
            body, content_type = render()
            await _send_raw(send, 200, body, content_type.encode())

    async def _preflight(
        self, scope: Scope, send: Send, origin: bytes, headers: dict[bytes, bytes]
    ) -> None:
        if not self.cors.allows(origin):
            await send_error(send, scope, 403, "origin not allowed", code="forbidden")
            return
        cors = self.cors.preflight_headers(origin, headers.get(b"access-control-request-headers"))
        await send({"type": "http.response.start", "status": 204, "headers": cors})
        await send({"type": "http.response.body", "body": b""})


def _enforce(decision: Decision | None) -> Decision | None:
    if decision is not None and not decision.allowed:
        raise RateLimited.of(decision)
    return decision


def _content_length(raw: bytes) -> int:
    if not raw.isdigit():
        raise BadRequest("invalid Content-Length")
    return int(raw)


async def _send_raw(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_internal_error(scope: Scope, send: Send, cors: Headers) -> None:
    # If the response had already started, uvicorn refuses this and closes the connection.
    with contextlib.suppress(RuntimeError):
        await send_error(
            send, scope, 500, "internal gateway error", code="internal_error", headers=cors
        )
