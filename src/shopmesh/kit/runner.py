"""Start one service process under uvicorn (uvloop + httptools, our own JSON logs)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shopmesh.kit.http import ASGIApp
from shopmesh.kit.logging import configure_logging
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.tracing import configure_tracing


def serve(app: ASGIApp, settings: ServiceSettings) -> None:
    """Run ``app`` on the service's host and port until SIGINT/SIGTERM."""
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    config = server_config(app, settings)
    tune_gc()
    uvicorn.Server(config).run()


def server_config(app: ASGIApp, settings: ServiceSettings) -> uvicorn.Config:
    """How every service runs under uvicorn."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=CorkedHttpToolsProtocol,
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        # Client addresses are the gateway's business (its own trust_forwarded setting);
        # uvicorn must not rewrite them from X-Forwarded-For behind its back.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.keepalive_timeout,
    )


class _CorkedTransport:
    """A transport that sends everything written in one turn of the event loop in one write.

    uvicorn writes a response's status line and headers, then its body: two
    system calls for every small response, and system calls are the largest
    single cost of a request here. Writes are held until the loop's next turn
    (``call_soon``), then go out joined; closing sends what is held first.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def _flush(self) -> None:
        held = self._held
        if held:
            data = held[0] if len(held) == 1 else b"".join(held)
            held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a ``_CorkedTransport``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        corked = _CorkedTransport(transport, self.loop)  # type: ignore[arg-type]
        super().connection_made(corked)  # type: ignore[arg-type]


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the request path as far as is safe.

    Everything imported and built so far lives as long as the process:
    ``gc.freeze`` takes it out of every future collection. A larger first
    generation lets a request's short-lived objects die by reference count
    before a collection finds them still in flight and promotes them; the
    default (700) ran a collection every few requests on the gateway, about a
    tenth of its CPU.
    """
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(20_000, second, third)
