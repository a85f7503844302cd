"""One JSON object per log line, with the request id when there is one."""

from __future__ import annotations

import io
import logging
import sys
import threading
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


class BufferedLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines through a 64 KiB buffer, flushed every ``interval`` s and on WARNING+.

    ``StreamHandler`` flushes after every record: one write system call per
    line, which costs more than formatting the line and adds up on the
    access log (one line per request). Here INFO lines are batched into one
    write at most ``interval`` seconds later (a crash loses at most that much
    INFO output); warnings and errors still reach the stream at once.
    """

    def __init__(self, stream: io.TextIOBase, *, interval: float = 0.2) -> None:
        super().__init__(stream)
        self._stopped = threading.Event()
        self._interval = interval
        threading.Thread(target=self._flush_periodically, name="log-flush", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING:
                self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._stopped.set()
        self.flush()
        super().close()

    def _flush_periodically(self) -> None:
        while not self._stopped.wait(self._interval):
            self.flush()


def _stdout_handler() -> logging.Handler:
    """A buffered handler on stdout's file descriptor, or a plain one when it has none."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return logging.StreamHandler(sys.stdout)
    sys.stdout.flush()
    stream = open(fd, "w", buffering=64 * 1024, encoding="utf-8", closefd=False)  # noqa: SIM115
    return BufferedLineHandler(stream)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger to stdout as JSON lines."""
    handler = _stdout_handler()
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The JSON lines carry none of the caller's file/line, thread or process: skip collecting
    # them on every record (the stdlib's documented optimisations; ~30% of an access log line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiosqlite logs every statement with its parameters at DEBUG (password hashes, tokens...).
    for noisy in ("aiokafka", "kafka", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Our access log replaces uvicorn's.
    logging.getLogger("uvicorn.access").disabled = True
