"""One JSON object per log line, with the request id when there is one."""

from __future__ import annotations

import logging
import sys
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# W3C trace context of the request or event being handled; it travels into outbox rows
# and Kafka headers so one trace id follows a flow across services.
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)

# A timestamp's milliseconds and zone, as ``datetime.isoformat`` writes them.
_MILLIS = [f".{millis:03d}+00:00" for millis in range(1000)]
# Attributes every LogRecord has; anything else passed through ``extra`` is emitted as a field.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats records as compact JSON; ``extra={...}`` fields become keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        # (epoch second, its date and time of day) and (epoch millisecond, its timestamp):
        # tuples, so a thread never sees one half of an update.
        self._second: tuple[int, str] = (-1, "")
        self._millisecond: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            key: value
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRS and not key.startswith("_")
        }
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return self.line(
            record.created, record.levelname.lower(), record.name, record.getMessage(), fields
        )

    def line(
        self, created: float, level: str, logger: str, msg: str, fields: dict[str, Any]
    ) -> str:
        """The JSON line: the fixed keys, the request's ids, then ``fields``."""
        return self.line_bytes(self._timestamp(created), level, logger, msg, fields)[:-1].decode()

    def line_bytes(
        self, ts: str, level: str, logger: str, msg: str, fields: dict[str, Any]
    ) -> bytes:
        """:meth:`line` as UTF-8 with its newline, as it is written (``ts``: the timestamp)."""
        entry: dict[str, Any] = {
            "ts": ts,
            "level": level,
            "service": self.service,
            "logger": logger,
            "msg": msg,
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        traceparent = traceparent_var.get()
        if traceparent and len(traceparent) == 55:
            entry["trace_id"] = traceparent[3:35]
        entry.update(fields)
        return orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE)

    def now(self) -> str:
        """The timestamp of a line written now, formatted once a millisecond."""
        millisecond = time.time_ns() // 1_000_000
        cached = self._millisecond
        if cached[0] == millisecond:
            return cached[1]
        second, millis = divmod(millisecond, 1000)
        text = self._day_and_time(second) + _MILLIS[millis]
        self._millisecond = (millisecond, text)
        return text

    def _timestamp(self, created: float) -> str:
        """``datetime.isoformat`` to the millisecond in UTC."""
        second = int(created)
        micros = round((created - second) * 1e6)  # rounded as datetime.fromtimestamp does
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        return self._day_and_time(second) + _MILLIS[micros // 1000]

    def _day_and_time(self, second: int) -> str:
        """The date and time of day of ``second`` (formatted once a second)."""
        cached = self._second
        if cached[0] != second:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            cached = self._second = (second, text)
        return cached[1]


class BufferedLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines through a 64 KiB buffer, flushed every ``interval`` s and on WARNING+.

    ``StreamHandler`` flushes after every record: one write system call per
    line, which costs more than formatting the line and adds up on the
    access log (one line per request). Here INFO lines are batched into one
    write at most ``interval`` seconds later (a crash loses at most that much
    INFO output); warnings and errors still reach the stream at once. The
    stream is binary (a ``BufferedWriter``, which takes its own lock): the
    direct lines (``log_fields``) go in as the bytes orjson made, with no
    text layer in between.
    """

    terminator = "\n"

    def __init__(self, stream: BinaryIO, *, interval: float = 0.2) -> None:
        super().__init__(stream)
        self._stopped = threading.Event()
        self._interval = interval
        threading.Thread(target=self._flush_periodically, name="log-flush", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write((self.format(record) + self.terminator).encode())
            if record.levelno >= logging.WARNING:
                self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def write_line(self, line: bytes) -> None:
        """Write a formatted INFO line, newline included (no record, no filters: see
        ``log_fields``)."""
        self.stream.write(line)

    def close(self) -> None:
        self._stopped.set()
        self.flush()
        super().close()

    def _flush_periodically(self) -> None:
        while not self._stopped.wait(self._interval):
            self.flush()


# The JSON handler configure_logging installed on the root logger, with its formatter.
_direct: tuple[BufferedLineHandler, JsonFormatter] | None = None


def log_fields(logger: logging.Logger, level: int, msg: str, fields: dict[str, Any]) -> None:
    """Log what ``logger.log(level, msg, extra=fields)`` would, cheaper for INFO lines.

    For the lines written once per request or event (the access log, the
    consumers' applied-event line): at INFO, when the only handler on the way
    is our JSON one, the line is formatted and buffered directly, several
    times cheaper than building a LogRecord. Other levels (flushed at once),
    and anything else listening (a test's capture handler, a filter), get the
    ordinary record.
    """
    direct = direct_writer(logger) if level == logging.INFO else None
    if direct is not None:
        handler, formatter = direct
        handler.write_line(formatter.line_bytes(formatter.now(), "info", logger.name, msg, fields))
    elif logger.isEnabledFor(level):
        logger.log(level, msg, extra=fields)


def direct_writer(logger: logging.Logger) -> tuple[BufferedLineHandler, JsonFormatter] | None:
    """Our JSON handler and its formatter when an INFO line of ``logger`` may skip the
    LogRecord machinery (see :func:`log_fields`); None: log it the ordinary way, if at all."""
    direct = _direct
    if direct is None or not logger.isEnabledFor(logging.INFO):
        return None
    return direct if _only_root_handles(logger, direct[0]) else None


def _only_root_handles(logger: logging.Logger, handler: logging.Handler) -> bool:
    current: logging.Logger | None = logger
    while current is not None and current.parent is not None:
        if current.handlers or current.filters or not current.propagate:
            return False
        current = current.parent
    if current is None or current.filters:
        return False
    handlers = current.handlers
    return len(handlers) == 1 and handlers[0] is handler


def _stdout_handler() -> logging.Handler:
    """A buffered handler on stdout's file descriptor, or a plain one when it has none."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return logging.StreamHandler(sys.stdout)
    sys.stdout.flush()
    stream = open(fd, "wb", buffering=64 * 1024, closefd=False)  # noqa: SIM115
    return BufferedLineHandler(stream)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger to stdout as JSON lines."""
    global _direct
    handler = _stdout_handler()
    formatter = JsonFormatter(service)
    handler.setFormatter(formatter)
    _direct = (handler, formatter) if isinstance(handler, BufferedLineHandler) else None
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
