"""The gateway scenario's CPU figures: what a proxy costs a request and how busy a rate keeps it."""

from __future__ import annotations

import os
import time
from typing import Any

from bench.scenarios.gateway import _ProxyCpu, _report


def _spin_cpu(seconds: float) -> None:
    """Use ``seconds`` of this process's CPU time (however long the machine takes to give it)."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_cpu_per_request_and_busy_share_of_the_measured_process() -> None:
    with _ProxyCpu(os.getpid()) as cpu:
        _spin_cpu(0.3)
    figures = cpu.figures(1000, busy=True)
    # 0.3 s over 1000 requests is 300 µs each; /proc counts in ticks of 10 ms.
    assert 250 <= figures["cpu_us_per_req"] <= 400
    # All of it was this process's CPU: busy up to one core, never more.
    assert 0 < figures["busy"] <= 1.05


def test_paths_that_are_not_a_python_proxy_get_no_cpu_figures() -> None:
    with _ProxyCpu(None) as cpu:
        _spin_cpu(0.05)
    assert cpu.figures(1000, busy=True) == {}
    with _ProxyCpu(os.getpid()) as cpu:
        pass
    assert cpu.figures(0) == {}  # nothing answered: no per-request figure


def _closed(req_per_s: float, cpu: float | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"req_per_s": req_per_s, "p99_ms": 1.0}
    return run if cpu is None else {**run, "cpu_us_per_req": cpu}


def _open(p99: float, cpu: float | None = None, busy: float | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"p99_ms": p99}
    if cpu is not None:
        run.update(cpu_us_per_req=cpu, busy=busy)
    return run


def test_report_gives_each_proxys_cost_in_both_loops_and_the_gateways_busy_share() -> None:
    closed = {
        "direct": [_closed(100_000)],
        "nginx": [_closed(50_000)],
        "forwarder": [_closed(30_000, cpu=30)],
        "gateway": [_closed(10_000, cpu=90)],
    }
    open_runs = {
        "direct": [_open(1.0)],
        "forwarder": [_open(2.0, cpu=60, busy=0.3)],
        "gateway": [_open(6.0, cpu=140, busy=0.7)],
        "direct_quarter": [_open(1.0)],
        "gateway_quarter": [_open(2.0, cpu=180, busy=0.45)],
    }
    derived = _report(closed, open_runs, 5_000)["derived"]
    assert derived["gateway_cpu_us_per_req_wrk"]["median"] == 90
    assert derived["gateway_cpu_us_per_req_open_loop"]["median"] == 140
    assert derived["forwarder_cpu_us_per_req_wrk"]["median"] == 30
    assert derived["forwarder_cpu_us_per_req_open_loop"]["median"] == 60
    assert derived["gateway_busy_at_half"]["median"] == 0.7
    assert derived["gateway_busy_at_quarter"]["median"] == 0.45
    assert derived["p99_added_by_gateway_ms"]["median"] == 5.0
