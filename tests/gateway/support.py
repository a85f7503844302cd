"""Helpers for the gateway tests: servers on real sockets (from tests.support), unique names."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from tests.support import Running, free_port, serve

__all__ = [
    "METRICS_URLS",
    "MakeToken",
    "Running",
    "StartGateway",
    "free_port",
    "serve",
    "unique",
]

StartGateway = Callable[..., Awaitable[str]]
MakeToken = Callable[..., str]
# Each gateway's metrics endpoint (not on its public port), by the gateway's URL.
METRICS_URLS: dict[str, str] = {}


def unique() -> str:
    """A path segment no other test uses."""
    return uuid.uuid4().hex[:12]
