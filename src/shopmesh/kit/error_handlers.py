"""The platform's JSON error answers, installed on every service's FastAPI app.

Every refusal has one shape, ``{"error", "message", "code", "request_id", "details"?}``:
domain errors (:class:`~shopmesh.kit.errors.AppError`) with their status,
validation errors as 422 (a body that is not JSON as 400 ``invalid_json``),
routing errors as 404/405, a database outage as 503, anything else as a bare 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopmesh.kit.db import is_transient_db_error
from shopmesh.kit.errors import AppError
from shopmesh.kit.http import error_fields

log = logging.getLogger(__name__)
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})


def _error(request: Request, status: int, message: str, code: str, **extra: Any) -> JSONResponse:
    body = error_fields(
        message, code=code, request_id=request.scope.get("request_id"), details=extra.get("details")
    )
    return JSONResponse(body, status_code=status, headers=extra.get("headers"))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error ``app`` meets in the platform's one JSON shape."""
    app.add_exception_handler(AppError, _app_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    # Registered by class, not only under Exception: the catch-all handler runs in
    # Starlette's ServerErrorMiddleware, which re-raises after answering, so uvicorn
    # logged a stack trace for every request of a database outage and closed the
    # keep-alive connection under the gateway's feet (its next request there: a 502).
    app.add_exception_handler(DBAPIError, _unexpected)
    app.add_exception_handler(OSError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)


async def _app_error(request: Request, exc: AppError) -> JSONResponse:
    return _error(
        request, exc.status, exc.message, exc.code, details=exc.details, headers=exc.headers
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _error(request, 400, "request body is not valid JSON", "invalid_json")
    details = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e["type"]}
        for e in errors
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid request", "type": ""}
    loc = first["loc"]
    # The first part says where the value came from (body, query...); the rest names it.
    where = ".".join(loc[1:] if loc and loc[0] in _SOURCES else loc)
    if loc == ["body"] and first["type"] in _NOT_AN_OBJECT:
        message = "request body must be a JSON object (Content-Type: application/json)"
    else:
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
    return _error(request, 422, message, "validation_error", details=details)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if isinstance(exc.__cause__, RecursionError):  # FastAPI's body parse hit the stack
        return _error(request, 422, "request body is nested too deeply", "validation_error")
    codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    code = codes.get(exc.status_code, "http_error")
    return _error(request, exc.status_code, message, code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_transient_db_error(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        return _error(request, 503, "database unavailable, try again", "service_unavailable")
    log.exception("unhandled error")
    return _error(request, 500, "internal error", "internal_error")
