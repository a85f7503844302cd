"""The results: ``latest.json`` (everything) and ``latest.md`` (the figures a person reads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# What limits each figure, as found by profiling (py-spy) on the 2-core machine.
LIMITS = {
    "gateway": "One Python process on its own HTTP/1.1 server core (asyncio protocols and "
    "httptools on uvloop, no ASGI) and its own pooled client to the upstream, every feature "
    "on. The forwarder row is the floor under it: a bare Python forwarder (bench/forwarder.py) "
    "on the same client, without JWT, rate limits, access log, metrics, trace context or the "
    "hostile-HTTP checks. Per request both make the same four system calls (two reads, two "
    "writes); the rest of the gateway's CPU is its Python: the server core's parsing and "
    "bounds, the request id and trace context, routing, the JWT cache, two rate-limit checks, "
    "the access-log line, the header lists each way. On these two cores wrk, nginx and the "
    "proxy share the CPUs, so every req/s figure depends on where the scheduler puts them; "
    "compare the ratios of one run. A new connection per request adds the accept, the "
    "protocol set-up and a first upstream write per request.",
    "payments": "One payments process, CPU-bound: a charge without an Idempotency-Key is one "
    "SQL statement in autocommit (account upsert under the limit, the transaction row and "
    "its outbox row). Of its ~0.7 ms of CPU per charge, FastAPI and the kit's middleware "
    "take ~140 µs and the use case with its statement (SQLAlchemy Core, asyncpg) ~250 µs "
    "(both measured in process); the rest is uvicorn, the access log, the outbox relay and "
    "the kernel's socket work (~15 % is system time). Requests wait for a pooled "
    "connection first come, first served. With 64 clients each waiting for its answer "
    "the mean latency is 64 ÷ throughput (~58 ms at ~1,100/s): p99 ≤ 100 ms holds while "
    "the machine gives payments ~1,000 charges/s or more. The same code has run at 700 to "
    "1,240 charges/s from one run to the next (the host gives a different amount of work "
    "per CPU-second), so the p99 has ranged from 78 to 160 ms.",
    "events": "Steady: commit→applied is mostly the relay's leg (relay_*: wake-up, one "
    "statement that marks the last batch and reads the next, the Kafka round trip with "
    "acks=all); analytics applies a batch in one autocommit statement (the events' effect "
    "and their processed-event rows) and commits its offsets at most every 0.5 s. Drain: "
    "the relay reads and marks batches of 500 in one statement; analytics folds each batch "
    "into that one statement.",
    "orders": "Six processes and four Kafka hops per order, the saga's (orders, products "
    "reservation, payments' charge, orders again (Paid), dispatcher, orders again, gateway "
    "stream). Before payment joined the loop it was about 30 ms of CPU per order across orders "
    "(~11 ms: FastAPI, the intent and order statements, the products call, the relay, the "
    "live listener), the dispatcher (~6.5 ms), products (~6 ms), PostgreSQL and Kafka, the "
    "two cores ~85 % busy at 50 orders/s; the charge (payments' consumer and relay) and "
    "orders' second transaction come on top, so the run is CPU-bound on two cores. Consumers "
    "commit their offsets at most every 0.5 s, never after each message. At 50 orders/s most "
    "consumers' batches are one event, so each batch, transaction, outbox pass and fetch is "
    "paid in full per order: the relay's pass is one statement, orders' live listener and "
    "analytics' batch skip statements, products' consumer fetches every 0.5 s.",
    "journeys": "The same services under a mixed load; locust itself takes a share of a core.",
    "footprint": "Start-up: ten Python processes importing FastAPI, SQLAlchemy, aiokafka at "
    "once on two cores, then migrations and Kafka group joins; Kafka's JVM start. Memory: RSS "
    "counts PostgreSQL's shared buffers once per backend (about 50 pooled connections), "
    "PSS divides them; Kafka's heap is capped at 512 MB.",
}


def write(results: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "latest.json", directory / "latest.md"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(render(results))
    return json_path, md_path


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# ShopMesh benchmark report",
        "",
        f"Run {results['started_at']} on commit `{results['commit']}`"
        f"{' (QUICK: short durations, one repeat)' if results['quick'] else ''}; "
        f"{results['repeats']} repeat(s) per figure: each figure is the **median**, "
        "with the spread (min–max) of the repeats.",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"load average at start {', '.join(f'{x:.2f}' for x in m['load_average'])} "
        "(shared machine: other work runs alongside).",
        f"Versions: Python {m['python']}, {m['nginx']}, {m['wrk']}, {m['postgres']}, "
        f"{m['java']}, Kafka {results.get('kafka_version', '?')}.",
        "",
        "How each figure is made and what limits it: `bench/README.md`.",
        "",
        "## Targets",
        "",
        "| scenario | target | measured | met |",
        "|---|---|---|---|",
    ]
    for name, scenario in results["scenarios"].items():
        for target in scenario.get("targets", []):
            met = "yes" if target["met"] else "**no**"
            lines.append(f"| {name} | {target['name']} | {target['value']} | {met} |")
    for name, scenario in results["scenarios"].items():
        lines += ["", f"## {name}: {scenario.get('title', '')}", ""]
        if "error" in scenario:
            lines += [f"Failed: `{scenario['error']}`", ""]
            continue
        cpu = scenario.get("cpu")
        if cpu:
            lines += [
                f"CPU during the scenario ({scenario.get('duration_s')} s): machine "
                f"{cpu['machine_busy_pct']}% busy, of which the benchmark's own processes "
                f"{cpu['bench_processes_pct']}% and other work {cpu['others_pct']}%; "
                f"load average {cpu['load_average_start']} → {cpu['load_average_end']}.",
                "",
            ]
            by_part = cpu.get("cpu_seconds_by_part") or {}
            if by_part:
                # A negative figure is a process that restarted meanwhile (older results).
                ranked = sorted(
                    ((n, v) for n, v in by_part.items() if v >= 0), key=lambda item: -item[1]
                )
                shown = ", ".join(f"{name} {seconds}" for name, seconds in ranked)
                lines += [f"CPU seconds by part of the platform: {shown}.", ""]
        lines += _figures_table(scenario.get("figures", {}))
        derived = scenario.get("derived")
        if derived:
            lines += ["", "| derived | median | min | max |", "|---|---|---|---|"]
            for key, value in derived.items():
                if isinstance(value, dict) and "median" in value:
                    lines.append(f"| {key} | {value['median']} | {value['min']} | {value['max']} |")
                elif isinstance(value, dict):
                    shown = ", ".join(f"{k} {v}" for k, v in value.items())
                    lines.append(f"| {key} | {shown} | | |")
                else:
                    lines.append(f"| {key} | {value} | | |")
        if name in LIMITS:
            lines += ["", f"What limits it: {LIMITS[name]}"]
    lines.append("")
    return "\n".join(lines)


def _figures_table(figures: dict[str, Any]) -> list[str]:
    """One row per group, one column per figure: the median, then (min–max) when they differ."""
    groups = {g: v for g, v in figures.items() if isinstance(v, dict)}
    columns: list[str] = []
    for values in groups.values():
        columns += [k for k, v in values.items() if isinstance(v, dict) and k not in columns]
    if not columns:
        return []
    rows = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for group, values in groups.items():
        cells = [_cell(values.get(column)) for column in columns]
        rows.append(f"| {group} | " + " | ".join(cells) + " |")
    return rows


def _cell(value: Any) -> str:
    if not isinstance(value, dict) or "median" not in value:
        return ""
    median, low, high = (_number(value[k]) for k in ("median", "min", "max"))
    return median if low == high else f"{median} ({low}–{high})"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
