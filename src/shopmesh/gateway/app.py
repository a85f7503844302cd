"""The gateway's request handling: probes, CORS, rate limits, JWT check, then the proxy.

No web framework on the request path: the gateway sits in front of every
request, so each step works on the parsed request's header bytes directly,
on the gateway's own server core (:mod:`shopmesh.gateway.server`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from shopmesh.gateway import answers
from shopmesh.gateway.cors import Cors
from shopmesh.gateway.discovery import Discovery
from shopmesh.gateway.forwarding import Forwarding
from shopmesh.gateway.login import login_identities
from shopmesh.gateway.metrics import flush_upstream_counts
from shopmesh.gateway.proxy import Forward, Proxy, streamed_body
from shopmesh.gateway.ratelimit import Decision, RateLimited, RateLimiter, tightest
from shopmesh.gateway.routing import Policy, Route, RouteConfigError, RouteTable, has_dot_segment
from shopmesh.gateway.server import ClientError, Exchange, Headers
from shopmesh.gateway.settings import GatewaySettings
from shopmesh.gateway.streams import StreamLimits
from shopmesh.gateway.upstream_http import Body, UpstreamClient
from shopmesh.gateway.upstreams import Upstreams
from shopmesh.kit.access import (
    RequestRecorder,
    end_request_span,
    request_context,
    request_id_from,
)
from shopmesh.kit.errors import AppError, BadRequest, Forbidden, NotFound
from shopmesh.kit.jwt import CACHED_TOKENS, TokenVerifier
from shopmesh.kit.logging import request_id_var, traceparent_var

log = logging.getLogger(__name__)

_PROBES = frozenset({"/health", "/ready"})
ASYNCAPI_PATH = "/api/asyncapi.json"
# The events' AsyncAPI document, generated from the typed events (``shopmesh asyncapi``).
ASYNCAPI_FILE = Path(__file__).with_name("asyncapi.json")
_LOGIN, _REGISTER = "login", "register"


class Gateway:
    """Answers each request the server core parsed; the pools live from startup to shutdown."""

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
        self.forwarding = Forwarding(
            trust_all=settings.trust_forwarded, trusted=settings.trusted_proxies
        )
        self.streams = StreamLimits(
            per_identity=settings.streams_per_user, total=settings.streams_max
        )
        self.recorder = RequestRecorder("gateway", batched=True)
        self.asyncapi = ASYNCAPI_FILE.read_bytes()
        self.limit_classes = {
            "ip": settings.rate_limit_ip,
            "user": settings.rate_limit_user,
            _LOGIN: settings.rate_limit_login,
            _REGISTER: settings.rate_limit_register,
        }
        for route in self.routes.routes:
            if route.limit is not None and route.limit not in self.limit_classes:
                raise RouteConfigError(f"{route.prefix}: unknown limit class {route.limit!r}")
        self.client: UpstreamClient | None = None
        self.proxy: Proxy | None = None
        self.limiter: RateLimiter | None = None
        self.discovery: Discovery | None = None

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
            self.streams,
            default_timeout=settings.upstream_timeout,
            stream_idle_timeout=settings.stream_idle_timeout,
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

    async def handle(self, exchange: Exchange) -> None:
        """Answer one request: never raises, always ends the exchange."""
        started = time.perf_counter()
        fields = exchange.fields
        quiet = exchange.path in _PROBES
        request_id, span, span_token, traceparent = request_context(
            fields.get(b"x-request-id"),
            fields.get(b"traceparent"),
            method=exchange.method,
            path=exchange.path,
            quiet=quiet,
        )
        exchange.request_id = request_id
        id_token, trace_token = request_id_var.set(request_id), traceparent_var.set(traceparent)
        origin = fields.get(b"origin")
        cors = self.cors.response_headers(origin) if origin is not None else []
        try:
            if quiet:
                self._probe(exchange)
            else:
                await self._dispatch(exchange, cors, traceparent)
        except AppError as exc:
            extra = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
            answers.error(exchange, exc.status, exc.message, exc.code, cors + extra)
        except ClientError as exc:
            answers.client_failed(exchange, exc, cors)
        except Exception:
            log.exception("gateway failed on %s %s", exchange.method, exchange.path)
            answers.error(exchange, 500, "internal gateway error", "internal_error", cors)
        finally:
            if not exchange.finished:
                exchange.abort()
            if not quiet:  # the log line carries the request's ids: before they are reset
                self._record(exchange, time.perf_counter() - started, span, span_token)
            request_id_var.reset(id_token)
            traceparent_var.reset(trace_token)

    def flush_metrics(self) -> None:
        """Move the counts summed on the request path into the Prometheus series."""
        self.recorder.flush()
        flush_upstream_counts()

    def refuse(self, exchange: Exchange, error: ClientError) -> None:
        """Answer a request the server core refused (malformed, too large, too slow)."""
        exchange.request_id = request_id_from(None)
        answers.client_failed(exchange, error, [])
        self._record(exchange, 0.0, None, None)

    async def _dispatch(self, exchange: Exchange, cors: Headers, traceparent: str | None) -> None:
        fields = exchange.fields
        if exchange.method == "OPTIONS":
            origin = fields.get(b"origin")
            if origin and b"access-control-request-method" in fields:
                self._preflight(exchange, origin)
                return
        proxy, limiter = self.proxy, self.limiter
        if proxy is None or limiter is None:
            raise AppError("gateway is not ready", status=503, code="service_unavailable")
        peer = exchange.client
        trusted = self.forwarding.trusts(peer)
        client_ip = self.forwarding.client_ip(exchange) if trusted else peer or "unknown"
        # In-process counters are counted without a coroutine per check (count() raises
        # RateLimited itself).
        in_process = limiter.in_process
        shown = (
            limiter.count("ip", client_ip)
            if in_process
            else _enforce(await limiter.check("ip", client_ip))
        )
        path = exchange.path
        if "/." in path and has_dot_segment(path):
            raise BadRequest("path must not contain '.' or '..' segments")
        if path == ASYNCAPI_PATH and exchange.method in {"GET", "HEAD"}:
            exchange.route = ASYNCAPI_PATH
            answers.document(exchange, self.asyncapi, cors)
            return
        route = self.routes.match(path)
        if route is None:
            raise NotFound(f"no route for {path}")
        exchange.route = route.prefix
        identity = client_ip
        if route.needs_auth:
            identity = self._authenticate(exchange, route)
            user = (
                limiter.count("user", identity)
                if in_process
                else _enforce(await limiter.check("user", identity))
            )
            shown = tightest(shown, user)
        if exchange.body_expected:
            body = await self._request_body(exchange, whole=route.limit is not None)
        else:  # most requests: no coroutine to read no body
            body = b"" if exchange.content_length == 0 else None
        if route.limit is not None:
            shown = tightest(shown, await self._check_route_limit(route.limit, client_ip, body))
        # A new list either way: cors is also what an error answered later starts from.
        extra = cors + shown.headers() if shown is not None else [*cors]
        extra.append((b"x-request-id", exchange.request_id.encode("ascii")))
        forward = Forward(exchange, route, extra, identity, trusted, traceparent)
        await proxy.forward(forward, body)

    def _authenticate(self, exchange: Exchange, route: Route) -> str:
        """The caller's user id (as the limits key on it), or an :class:`AppError`."""
        principal = self.verifier.verify_header(exchange.fields.get(b"authorization"))
        if route.policy is Policy.ADMIN and not principal.is_admin:
            raise Forbidden("this route needs the admin role")
        exchange.user_id = user_id = principal.user_id
        return str(user_id)

    async def _request_body(self, exchange: Exchange, *, whole: bool) -> Body:
        """The body: held whole when small (or ``whole``), else streamed as it arrives.

        Held whole, it is forwarded only once it arrived complete and validly
        framed; streamed, a body that breaks off cuts the upstream request off.
        """
        limit = self.settings.max_body_bytes if whole else self.settings.buffer_body_bytes
        data, complete = await exchange.read_up_to(limit)
        return data if complete else streamed_body(data, exchange)

    async def _check_route_limit(
        self, limit_class: str, client_ip: str, body: Body
    ) -> Decision | None:
        limiter = self.limiter
        assert limiter is not None
        shown = _enforce(await limiter.check(limit_class, "ip", client_ip))
        if limit_class == _LOGIN and isinstance(body, bytes):
            for identity in login_identities(body):
                shown = tightest(shown, _enforce(await limiter.check(_LOGIN, "user", identity)))
        return shown

    def _probe(self, exchange: Exchange) -> None:  # /health, /ready
        ready = self.client is not None and not self.client.closed
        answers.probe(exchange, ready=ready)

    def _preflight(self, exchange: Exchange, origin: bytes) -> None:
        if not self.cors.allows(origin):
            answers.error(exchange, 403, "origin not allowed", "forbidden", [])
            return
        requested = exchange.fields.get(b"access-control-request-headers")
        answers.preflight(exchange, self.cors.preflight_headers(origin, requested))

    def _record(self, exchange: Exchange, elapsed: float, span: object, span_token: object) -> None:
        status = exchange.status or 499  # 499: the client left before any answer
        self.recorder.record(
            method=exchange.method,
            route=exchange.route,
            path=exchange.path,
            status=status,
            elapsed=elapsed,
            client=exchange.client,
            user_id=exchange.user_id,
        )
        if span is not None:
            end_request_span(
                span,
                span_token,
                method=exchange.method,
                route=exchange.route,
                path=exchange.path,
                status=status,
                service="gateway",
            )


def _enforce(decision: Decision | None) -> Decision | None:
    if decision is not None and not decision.allowed:
        raise RateLimited.of(decision)
    return decision
