"""How an exchange with an upstream instance can fail."""

from __future__ import annotations


class UpstreamError(Exception):
    """The exchange with an upstream instance failed."""


class ConnectFailed(UpstreamError):
    """No connection could be made: nothing reached the instance."""


class Disconnected(UpstreamError):
    """The upstream closed the connection before its answer was complete."""


class BadResponse(UpstreamError):
    """The upstream's answer is not valid HTTP/1.1."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The upstream stayed silent for longer than the read timeout."""
