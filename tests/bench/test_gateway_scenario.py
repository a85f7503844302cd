"""The gateway scenario's CPU figures: what a proxy costs a request and how busy a rate keeps it."""

from __future__ import annotations

import os
import time
from typing import Any

from bench.scenarios.gateway import _ProxyCpu
from bench.scenarios.gateway_report import report


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


def test_report_gives_each_proxys_cost_and_the_targets_ratios() -> None:
    closed = {
        "direct": [_closed(100_000)],
        "nginx": [_closed(50_000, cpu=20)],
        "forwarder": [_closed(30_000, cpu=30)],
        "gateway": [_closed(20_000, cpu=70)],
        "nginx_new_connection": [_closed(10_000, cpu=60)],
        "gateway_new_connection": [_closed(4_000, cpu=200)],
    }
    open_runs = {
        "direct": [_open(1.0)],
        "forwarder": [_open(2.0, cpu=60, busy=0.3)],
        "gateway": [_open(2.5, cpu=140, busy=0.45)],
    }
    result = report(closed, open_runs, 5_000)
    derived = result["derived"]
    assert derived["gateway_over_nginx_req_ratio"]["median"] == 0.4
    assert derived["gateway_over_nginx_cpu_ratio"]["median"] == 3.5
    assert derived["gateway_new_connection_over_keepalive_req_ratio"]["median"] == 0.2
    assert derived["nginx_new_connection_over_keepalive_req_ratio"]["median"] == 0.2
    assert derived["gateway_cpu_us_per_req_wrk"]["median"] == 70
    assert derived["nginx_cpu_us_per_req_wrk"]["median"] == 20
    assert derived["gateway_cpu_us_per_req_open_loop"]["median"] == 140
    assert derived["gateway_busy_at_quarter"]["median"] == 0.45
    assert derived["p99_added_by_gateway_at_quarter_ms"]["median"] == 1.5
    assert [target["met"] for target in result["targets"]] == [True, True, True]
