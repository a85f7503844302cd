"""Load generators: wrk (closed loop, maximum rate) and an open-loop one of our own.

wrk keeps ``connections`` requests in flight and measures the rate they
sustain; its latencies are those of a closed loop. wrk2 (constant rate) is
not packaged, so latency at a given rate comes from :func:`open_loop`: it
sends on a fixed schedule whether or not earlier answers have come back,
and times each request from when it was *due*, so a stall shows up in the
percentiles instead of silently lowering the rate (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.measure import latency_summary
from shopmesh.gateway.upstream_http import UpstreamError

WRK_SCRIPTS = Path(__file__).with_name("wrk")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors plus non-2xx/3xx answers

    def figures(self) -> dict[str, float]:
        return {
            "req_per_s": round(self.requests_per_s, 1),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "errors": self.errors,
        }


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: Mapping[str, str] | None = None,
    script: str | None = None,
    env: Mapping[str, str] | None = None,
    raw_log: Path | None = None,
) -> WrkResult:
    """Run wrk against ``url`` and parse its summary."""
    # A 10 s timeout (wrk's default is 2 s): slower answers are measured, not dropped as errors.
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if script is not None:
        argv += ["-s", str(WRK_SCRIPTS / script)]
    done = subprocess.run(
        [*argv, url],
        capture_output=True,
        text=True,
        check=True,
        env=None if env is None else {**os.environ, **env},
        timeout=seconds + 60,
    )
    if raw_log is not None:
        with raw_log.open("a") as out:
            out.write(f"$ {' '.join(argv)} {url}\n{done.stdout}\n{done.stderr}\n")
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> WrkResult:
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", text))
    requests = int(_find(r"(\d+) requests in", text))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return WrkResult(
        requests_per_s=rate,
        p50_ms=_duration_ms(_find(r"\n\s+50%\s+(\S+)", text)),
        p99_ms=_duration_ms(_find(r"\n\s+99%\s+(\S+)", text)),
        requests=requests,
        errors=errors,
    )


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"wrk output without {pattern!r}:\n{text}")
    return match.group(1)


def _duration_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"unexpected wrk duration {value!r}")
    return round(float(match.group(1)) * _UNITS[match.group(2)], 3)


@dataclass
class OpenLoopResult:
    latencies: list[float] = field(default_factory=list)  # seconds, from when each was due
    errors: int = 0
    sent: int = 0
    elapsed: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


# The client is whatever ``call`` uses: an aiohttp session, or the gateway's own lean
# UpstreamClient where the generator's CPU would otherwise blur the latencies it measures.
Call = Callable[[Any, int], Awaitable[int]]


async def open_loop(
    session: Any,
    call: Call,
    *,
    rate: float,
    seconds: float,
    ok: Callable[[int], bool] = lambda status: 0 < status < 400,
) -> OpenLoopResult:
    """Start ``call(session, i)`` ``rate`` times a second for ``seconds``; time each from its slot.

    ``call`` returns the HTTP status (0 when no answer came: a connection error or timeout,
    counted as an error). Requests still running at the end are awaited.
    """
    with _collector_paused():
        return await _open_loop(session, call, rate=rate, seconds=seconds, ok=ok)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in the generator while it keeps the schedule.

    A full collection of this process (the harness, its imports, thousands of
    tasks) takes tens of milliseconds; every request due meanwhile then starts
    late, all at once, and the burst lands on the system under test as a
    stall that is the generator's, not the system's. Measured at 3.9k
    requests/s through the gateway: p99 35-90 ms with the collector on,
    3-6 ms with it paused (direct to nginx: 1.6 ms).
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def _open_loop(
    session: Any,
    call: Call,
    *,
    rate: float,
    seconds: float,
    ok: Callable[[int], bool],
) -> OpenLoopResult:
    result = OpenLoopResult()
    tasks: set[asyncio.Task[None]] = set()
    interval = 1.0 / rate
    total = int(rate * seconds)
    start = time.perf_counter()

    async def one(index: int, due: float) -> None:
        try:
            status = await call(session, index)
        except (aiohttp.ClientError, UpstreamError, TimeoutError):
            status = 0
        result.latencies.append(time.perf_counter() - due)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if not ok(status):
            result.errors += 1

    for index in range(total):
        due = start + index * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(index, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.sent += 1
    if tasks:
        await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    return result


def summary(result: OpenLoopResult) -> dict[str, Any]:
    return {
        "sent": result.sent,
        "achieved_per_s": round(result.sent / result.elapsed, 1) if result.elapsed else 0.0,
        "errors": result.errors,
        **latency_summary(result.latencies),
        "statuses": {str(status): n for status, n in sorted(result.statuses.items())},
    }
