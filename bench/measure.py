"""Figures: percentiles of one run, the median and spread of several, memory of processes."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds, default=float("nan")) * 1000, 2),
    }


def spread(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """For each numeric figure of the runs: the median (the figure reported) and min/max."""
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float) and not isinstance(v, bool)]
    figures = {}
    for key in keys:
        values = [float(run[key]) for run in runs if isinstance(run.get(key), int | float)]
        figures[key] = median_spread(values)
    return figures


def median_spread(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    """The median of ``values`` and their min and max, rounded to ``digits``."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def process_tree(roots: Iterable[int]) -> set[int]:
    """``roots`` and all their descendants that are alive."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid for pid in roots if Path(f"/proc/{pid}").exists()]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, ()))
    return found


def memory_kib(pids: Iterable[int]) -> dict[str, int]:
    """Summed RSS and PSS (shared pages split between sharers) of ``pids``, in KiB."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return {"rss_kib": rss, "pss_kib": pss}


def machine() -> dict[str, Any]:
    """Cores, memory and versions, for the report's header."""
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "nginx": _version(["nginx", "-v"]),
        "wrk": _version(["wrk", "-v"]),
        "postgres": _version(["/usr/lib/postgresql/15/bin/postgres", "--version"]),
        "java": _version(["java", "-version"]),
        "load_average": os.getloadavg(),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of ``pids`` (and of their children they have reaped)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat (11-14 after the name).
        total += sum(int(value) for value in fields[11:15])
    return total / _TICKS


def preemptions(pids: Iterable[int]) -> int:
    """Times ``pids`` lost the CPU while they still had work (involuntary context switches)."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("nonvoluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every core), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _TICKS


class CpuShare:
    """How the machine's CPU was shared during a scenario: ours against everybody else's."""

    def __init__(
        self, own: Callable[[], set[int]], parts: Callable[[], dict[str, set[int]]]
    ) -> None:
        self._own = own
        self._parts = parts
        self._start = (time.monotonic(), machine_busy_seconds(), cpu_seconds(own()))
        self._part_start = {
            name: (min(pids), cpu_seconds(pids)) for name, pids in parts().items() if pids
        }
        self._load = os.getloadavg()[0]

    def finish(self) -> dict[str, Any]:
        wall, busy, ours = time.monotonic(), machine_busy_seconds(), cpu_seconds(self._own())
        elapsed = max(wall - self._start[0], 1e-9)
        cores = os.cpu_count() or 1
        machine = (busy - self._start[1]) / elapsed / cores
        bench = max(ours - self._start[2], 0.0) / elapsed / cores
        return {
            "load_average_start": round(self._load, 2),
            "load_average_end": round(os.getloadavg()[0], 2),
            "machine_busy_pct": round(100 * machine, 1),
            "bench_processes_pct": round(100 * bench, 1),
            "others_pct": round(100 * max(machine - bench, 0.0), 1),
            # CPU seconds of each part of the platform that ran the whole scenario in the same
            # process (one restarted meanwhile, like payments in the drain, is left out).
            "cpu_seconds_by_part": {
                name: round(cpu_seconds(pids) - self._part_start[name][1], 1)
                for name, pids in self._parts().items()
                if pids and self._part_start.get(name, (None, 0.0))[0] == min(pids)
            },
        }
