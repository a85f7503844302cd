"""Scenario 5: user journeys (bench/locustfile.py), headless, 50 users for 60 s.

While locust runs, the memory of the platform (every service, Kafka's JVM,
the PostgreSQL server) is sampled every second: scenario 6 reports its peak.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from bench import infra
from bench.context import Context, admin_token
from bench.measure import spread

log = logging.getLogger("bench")
USERS = 50
PRODUCTS = ("kettle", "lamp", "mug", "chair", "desk", "pen", "cup", "rug")


async def _catalogue(gateway: str) -> None:
    async with aiohttp.ClientSession(base_url=gateway) as session:
        headers = {"Authorization": f"Bearer {await admin_token(session)}"}
        for index, name in enumerate(PRODUCTS * 3):
            body = {
                "name": f"Bench {name} {index}",
                "price": 2.5 + index,
                "stock_quantity": 1_000_000,
                "category": "bench",
            }
            async with session.post("/api/products", json=body, headers=headers) as response:
                response.raise_for_status()


def _stats(prefix: Path) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    with Path(f"{prefix}_stats.csv").open() as handle:
        for row in csv.DictReader(handle):
            name = row["Name"] if row["Type"] else "Aggregated"
            label = f"{row['Type']} {name}".strip()
            rows[label] = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "req_per_s": round(float(row["Requests/s"]), 2),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
            }
    return rows


async def _locust(ctx: Context, gateway: str, prefix: Path, seconds: float) -> None:
    argv = [
        sys.executable, "-m", "locust",
        "-f", str(infra.REPO / "bench" / "locustfile.py"),
        "--headless", "-u", str(USERS), "-r", "10", "-t", f"{int(seconds)}s",
        "--host", gateway, "--csv", str(prefix), "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    process = infra.spawn(ctx.cleanup, "locust", argv, log_path=ctx.raw_dir / "locust.log")
    while process.poll() is None:
        ctx.sample_memory()
        await asyncio.sleep(1.0)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, argv)


async def run(ctx: Context) -> dict[str, Any]:
    platform = await ctx.started_platform()
    await _catalogue(platform.gateway)
    seconds = ctx.seconds(60, 15)
    runs: list[dict[str, dict[str, float]]] = []
    for repeat in range(ctx.repeats):
        prefix = ctx.raw_dir / f"locust-{repeat}"
        await _locust(ctx, platform.gateway, prefix, seconds)
        runs.append(_stats(prefix))
        log.info("journeys scenario: %s", runs[-1].get("Aggregated"))
    endpoints = sorted({name for run in runs for name in run})
    figures = {
        name: spread([run[name] for run in runs if name in run])
        for name in ["Aggregated", *[n for n in endpoints if n != "Aggregated"]]
    }
    failures = sum(run["Aggregated"]["failures"] for run in runs)
    return {
        "title": f"User journeys (locust, {USERS} users, {int(seconds)} s, think time 0.5–1.5 s)",
        "figures": figures,
        "targets": [{"name": "zero errors", "value": int(failures), "met": failures == 0}],
        "runs": runs,
    }
