"""Complete gateway-made responses over raw ASGI (errors and small JSON bodies)."""

from __future__ import annotations

from shopmesh.kit.http import Scope, Send, error_body, send_json

Headers = list[tuple[bytes, bytes]]


async def send_error(
    send: Send,
    scope: Scope,
    status: int,
    message: str,
    *,
    code: str,
    headers: Headers | None = None,
) -> None:
    """The platform's error shape, with the request id the middleware put in ``scope``."""
    body = error_body(message, code=code, request_id=scope.get("request_id"))
    await send_json(send, status, body, headers)
