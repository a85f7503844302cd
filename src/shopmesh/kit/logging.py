"""One JSON object per log line, with the request id when there is one."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# W3C trace context of the request or event being handled; it travels into outbox rows
# and Kafka headers so one trace id follows a flow across services.
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)

# Attributes every LogRecord has; anything else passed through ``extra`` is emitted as a field.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats records as compact JSON; ``extra={...}`` fields become keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        traceparent = traceparent_var.get()
        if traceparent and len(traceparent) == 55:
            entry["trace_id"] = traceparent[3:35]
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosqlite logs every statement with its parameters at DEBUG (password hashes, tokens...).
    for noisy in ("aiokafka", "kafka", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Our access log replaces uvicorn's.
    logging.getLogger("uvicorn.access").disabled = True
