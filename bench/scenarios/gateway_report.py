"""The gateway scenario's report: figures, ratios measured side by side, and the targets."""

from __future__ import annotations

import statistics
from typing import Any

from bench.measure import median_spread, spread


def report(
    closed: dict[str, list[dict[str, Any]]], open_runs: dict[str, list[dict[str, Any]]], rate: float
) -> dict[str, Any]:
    figures = {name: spread(runs) for name, runs in closed.items()}
    open_figures = {f"open_loop_{name}": spread(runs) for name, runs in open_runs.items()}
    ratio = statistics.median(_ratios(closed, "gateway"))
    cpu_ratio = statistics.median(_ratios(closed, "gateway", key="cpu_us_per_req"))
    added_p99 = statistics.median(_added(open_runs, "gateway"))
    return {
        "title": "Gateway overhead (tiny JSON upstream; wrk -t1 -c64, keep-alive and a new "
        "connection per request; open loop at a quarter of the gateway's max)",
        "figures": {**figures, **open_figures},
        "derived": {
            "gateway_over_nginx_req_ratio": median_spread(_ratios(closed, "gateway")),
            "forwarder_over_nginx_req_ratio": median_spread(_ratios(closed, "forwarder")),
            "gateway_over_nginx_cpu_ratio": median_spread(
                _ratios(closed, "gateway", key="cpu_us_per_req")
            ),
            "forwarder_over_nginx_cpu_ratio": median_spread(
                _ratios(closed, "forwarder", key="cpu_us_per_req")
            ),
            # A new connection per request against keep-alive, for nginx and the gateway.
            "gateway_new_connection_over_keepalive_req_ratio": median_spread(
                _ratios(closed, "gateway_new_connection", over="gateway")
            ),
            "nginx_new_connection_over_keepalive_req_ratio": median_spread(
                _ratios(closed, "nginx_new_connection", over="nginx")
            ),
            "gateway_new_connection_over_nginx_req_ratio": median_spread(
                _ratios(closed, "gateway_new_connection", over="nginx_new_connection")
            ),
            "open_loop_rate_per_s": round(rate, 1),
            "p99_added_by_gateway_at_quarter_ms": median_spread(_added(open_runs, "gateway"), 2),
            "p99_added_by_forwarder_at_quarter_ms": median_spread(
                _added(open_runs, "forwarder"), 2
            ),
            # What the proxies cost, and how busy the test rate kept the Python ones.
            **{
                f"{path}_cpu_us_per_req_{loop}": median_spread(
                    _values(runs[path], "cpu_us_per_req"), 1
                )
                for loop, runs, paths in (
                    ("wrk", closed, ("nginx", "forwarder", "gateway", "gateway_new_connection")),
                    ("open_loop", open_runs, ("forwarder", "gateway")),
                )
                for path in paths
            },
            "gateway_busy_at_quarter": median_spread(_values(open_runs["gateway"], "busy")),
        },
        "targets": [
            {
                "name": "gateway req/s ≥ 0.35 × nginx (every feature on)",
                "value": round(ratio, 3),
                "met": ratio >= 0.35,
            },
            {
                "name": "gateway CPU per request ≤ 4 × nginx's",
                "value": round(cpu_ratio, 2),
                "met": cpu_ratio <= 4.0,
            },
            {
                "name": "p99 added by the gateway at a quarter of its max rate ≤ 2 ms (tracked)",
                "value": round(added_p99, 2),
                "met": added_p99 <= 2.0,
            },
        ],
        "runs": {"closed_loop": closed, "open_loop": open_runs},
    }


def _ratios(
    runs: dict[str, list[dict[str, Any]]],
    path: str,
    *,
    over: str = "nginx",
    key: str = "req_per_s",
) -> list[float]:
    """``path``'s ``key`` over ``over``'s, repeat by repeat (measured side by side)."""
    return [
        run[key] / base[key]
        for run, base in zip(runs[path], runs[over], strict=True)
        if base.get(key) and key in run
    ]


def _values(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [run[key] for run in runs if key in run]


def _added(
    runs: dict[str, list[dict[str, Any]]], path: str, *, direct: str = "direct"
) -> list[float]:
    """The p99 ``path`` adds to the ``direct`` one (same rate), repeat by repeat."""
    return [
        run["p99_ms"] - alone["p99_ms"] for run, alone in zip(runs[path], runs[direct], strict=True)
    ]
