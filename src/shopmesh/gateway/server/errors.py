"""What can go wrong on the client's side of an exchange (never an upstream's fault)."""

from __future__ import annotations


class ClientError(Exception):
    """The client's request could not be read; ``status`` 0: there is nobody to answer."""

    status = 400
    code = "bad_request"


class BadFraming(ClientError):
    """The request's framing is invalid (a bad chunk, a malformed head)."""


class BodyTooLarge(ClientError):
    """The request body is over the limit."""

    status, code = 413, "payload_too_large"


class ClientTimeout(ClientError):
    """The client took too long to send its request."""

    status, code = 408, "request_timeout"


class ClientGone(ClientError):
    """The client closed the connection."""

    status, code = 0, "client_closed"
