"""What every request goes through: one write per response, cheap ids, the direct access log."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from prometheus_client import REGISTRY

from shopmesh.kit import logging as kit_logging
from shopmesh.kit.access import RequestRecorder
from shopmesh.kit.logging import (
    JsonFormatter,
    configure_logging,
    log_fields,
    request_id_var,
    traceparent_var,
)
from shopmesh.kit.metrics import LATENCY_BUCKETS
from shopmesh.kit.runner import _CorkedTransport
from shopmesh.kit.tracing import new_ids, random_hex


class RecordingTransport:
    """Stands in for the socket transport: records each write (one system call each)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_of_one_loop_turn_leave_in_one_write() -> None:
    raw = RecordingTransport()
    corked = _CorkedTransport(raw, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
    corked.write(b"{}")
    assert raw.writes == []
    assert corked.get_write_buffer_size() == 21
    await asyncio.sleep(0)  # one turn of the loop
    assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    corked.write(b"next")
    await asyncio.sleep(0)
    assert raw.writes[1:] == [b"next"]
    assert corked.get_extra_info("peername") == "info:peername"


async def test_close_sends_what_is_held_and_abort_drops_it() -> None:
    raw = RecordingTransport()
    corked = _CorkedTransport(raw, asyncio.get_running_loop())
    corked.write(b"last words")
    corked.close()
    assert (raw.writes, raw.closed) == ([b"last words"], True)

    raw = RecordingTransport()
    corked = _CorkedTransport(raw, asyncio.get_running_loop())
    corked.write(b"never sent")
    corked.abort()
    await asyncio.sleep(0)
    assert (raw.writes, raw.aborted) == ([], True)


def test_new_ids_are_a_request_id_and_a_sampled_traceparent_apart() -> None:
    pairs = [new_ids() for _ in range(300)]  # more than one 4 KiB pool
    for request_id, traceparent in pairs:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", traceparent)
        assert request_id != traceparent[3:35]
    assert len({request_id for request_id, _ in pairs}) == len(pairs)
    assert len({traceparent for _, traceparent in pairs}) == len(pairs)


def test_random_ids_are_hex_of_the_asked_size_and_do_not_repeat() -> None:
    ids = [random_hex(16) for _ in range(5000)]  # more than one 4 KiB pool
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    random_hex(16)  # the pool is filled
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write_end, random_hex(16).encode())
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert child != random_hex(16)


@pytest.fixture
def json_log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """configure_logging as a service runs it, with stdout going to a file."""
    path = tmp_path / "stdout.log"
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with path.open("w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        configure_logging("sample", "INFO")
        yield path
        for handler in root.handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    monkeypatch.setattr(kit_logging, "_direct", None)


def _lines(path: Path) -> list[dict[str, object]]:
    logging.getLogger().handlers[0].flush()
    return [orjson.loads(line) for line in path.read_text().splitlines()]


def test_the_direct_line_is_the_line_the_logging_machinery_writes(json_log_file: Path) -> None:
    log = logging.getLogger("shopmesh.access")
    fields = {"method": "GET", "status": 200, "user_id": None}
    token = request_id_var.set("req-1")
    try:
        log_fields(log, logging.INFO, "request", fields)
        log.info("request", extra=fields)
    finally:
        request_id_var.reset(token)
    direct, ordinary = _lines(json_log_file)
    assert direct.pop("ts")
    assert ordinary.pop("ts")
    assert direct == ordinary
    assert direct["request_id"] == "req-1"
    assert direct["status"] == 200


def test_another_listener_gets_an_ordinary_record(
    json_log_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("shopmesh.access")
    with caplog.at_level(logging.INFO, logger="shopmesh.access"):
        log_fields(log, logging.INFO, "request", {"status": 201})
    assert [record.__dict__["status"] for record in caplog.records] == [201]
    log.setLevel(logging.WARNING)
    try:
        log_fields(log, logging.INFO, "request", {"status": 202})
    finally:
        log.setLevel(logging.NOTSET)
    assert [line["status"] for line in _lines(json_log_file)] == [201]


def test_a_batched_recorder_reaches_the_same_series_once_flushed() -> None:
    observations = [0.0004, 0.001, 0.0011, 0.003, 0.2, 7.5, 42.0]
    direct = RequestRecorder("hot-path-direct")
    batched = RequestRecorder("hot-path-batched", batched=True)
    for recorder in (direct, batched):
        for elapsed in observations:
            recorder.record(
                method="GET",
                route="/r",
                path="/r/1",
                status=200,
                elapsed=elapsed,
                client="127.0.0.1",
                user_id=None,
            )

    def samples(service: str) -> dict[str, float]:
        found = {}
        for family in REGISTRY.collect():
            for sample in family.samples:
                if sample.labels.get("service") == service and not sample.name.endswith("created"):
                    key = sample.name + str(
                        sorted((k, v) for k, v in sample.labels.items() if k != "service")
                    )
                    found[key] = sample.value
        return found

    assert samples("hot-path-batched") == {}  # nothing reaches Prometheus before the flush
    batched.flush()
    assert samples("hot-path-batched") == samples("hot-path-direct")
    assert len(samples("hot-path-direct")) > len(LATENCY_BUCKETS)


@pytest.mark.parametrize(
    "created",
    [1719368401.0, 1719368401.6229997, 1719368401.9995, 1719368401.9999996, 1719368402.0000004]
    + [1.6e9 + index * 7777.123457 for index in range(200)],
)
def test_the_cached_timestamp_is_what_datetime_would_write(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert (
        JsonFormatter("svc").line(created, "info", "l", "m", {}).startswith(f'{{"ts":"{expected}"')
    )


def test_the_timestamp_of_a_line_written_now_is_this_millisecond() -> None:
    formatter = JsonFormatter("svc")
    for _ in range(3):  # the first formats it, the next ones may come from the cache
        before = datetime.now(UTC)
        stamp = formatter.now()
        after = datetime.now(UTC)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp)
        assert before - timedelta(milliseconds=1) <= datetime.fromisoformat(stamp) <= after


@pytest.mark.parametrize(
    ("path", "client", "user_id"),
    [
        ("/api/orders/7", "127.0.0.1", 7),
        ('/odd/"quoted"\\back\nline\x00\u00e9\U0001f600', '"10.0.0.1"\\', None),
    ],
)
@pytest.mark.parametrize(
    "ids",
    [
        ("req-1", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        (None, None),
        ("req-2", None),
    ],
)
def test_the_direct_access_line_is_the_line_the_logging_machinery_writes(
    json_log_file: Path,
    path: str,
    client: str,
    user_id: int | None,
    ids: tuple[str | None, str | None],
) -> None:
    recorder = RequestRecorder("hot-path-access", batched=True)
    id_token, trace_token = request_id_var.set(ids[0]), traceparent_var.set(ids[1])
    try:
        recorder.record(
            method="GET",
            route="/api/orders",
            path=path,
            status=200,
            elapsed=0.0012345,
            client=client,
            user_id=user_id,
        )
        fields = {
            "method": "GET",
            "path": path,
            "route": "/api/orders",
            "status": 200,
            "duration_ms": 1.23,
            "client": client,
            "user_id": user_id,
        }
        logging.getLogger("shopmesh.access").info("request", extra=fields)
    finally:
        request_id_var.reset(id_token)
        traceparent_var.reset(trace_token)
    logging.getLogger().handlers[0].flush()
    direct, ordinary = (
        re.sub(r'"ts":"[^"]*"', '"ts":""', line) for line in json_log_file.read_text().splitlines()
    )
    assert direct == ordinary
    assert orjson.loads(direct)["path"] == path
