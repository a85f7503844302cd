"""Scenario 6: how long `make up` takes to all-ready, and the platform's memory.

Start-up is `make up`'s sequence with warm caches (jars, virtualenv, UI
build present): `scripts/kafka.sh start` on a state dir of its own, then
every service (the UI's server too, when web/dist is built) launched by the
same :class:`~shopmesh.launcher.Launcher` on SQLite, timed until every
``/ready`` answers. Free ports and ``.data/bench/up`` keep it apart from a
running `make up`. The first repeat starts from empty databases (migrations
run), later ones reuse them, as a second `make up` does.

Memory is RSS (and PSS, which splits shared pages fairly) summed over every
process of the PostgreSQL platform the other scenarios use: services,
Kafka's JVM and the PostgreSQL server; right after it started, under the
journeys (peak of one-second samples), and at rest at the end.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import statistics
import time
from typing import Any

from bench import infra
from bench.context import CREDENTIALS, Context
from bench.measure import memory_kib, process_tree, spread
from harness.platform import LocalPlatform
from harness.resources import free_port
from shopmesh.launcher import SERVICES

log = logging.getLogger("bench")
UP_STATE = infra.STATE / "up"
LIMIT_GIB = 2.5


async def _startup_once(ctx: Context, *, fresh: bool) -> dict[str, Any]:
    if fresh:
        shutil.rmtree(UP_STATE / "db", ignore_errors=True)
    kafka_state = UP_STATE / "kafka"
    kafka_port = free_port()
    with_web = (infra.REPO / "web" / "dist" / "index.html").exists()
    specs = [spec for spec in SERVICES if with_web or spec.name != "web"]
    platform = LocalPlatform.prepare(
        state_dir=UP_STATE,
        admin_url="postgresql+asyncpg://unused@127.0.0.1/unused",
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        prefix="up",
        credentials=CREDENTIALS,
        specs=specs,
    )
    # `make up`'s own settings: SQLite files, every other value at its default.
    platform.env = {
        key: value
        for key, value in platform.env.items()
        if key.startswith(("SHOPMESH_SERVICE_URLS", "GATEWAY_", "SHOPMESH_REGISTRY_URL", "WEB_"))
        or key in ("SHOPMESH_KAFKA_BOOTSTRAP", "SHOPMESH_JWT_SECRET", "SHOPMESH_ADMIN_PASSWORD")
    }
    platform.env["SHOPMESH_DATA_DIR"] = str(UP_STATE / "db")
    started = time.monotonic()
    await asyncio.to_thread(
        infra.script, "kafka.sh", "start", str(kafka_state), str(kafka_port), str(free_port())
    )
    try:
        kafka_ready = time.monotonic()
        ready = await platform.start(timeout=120)
        finished = time.monotonic()
        if not all(ready.values()):
            raise RuntimeError(f"make-up platform not ready: {ready}")
        roots = [infra.kafka_pid(kafka_state)] + [
            platform.launcher.pid_of(spec) for spec in platform.specs
        ]
        memory = memory_kib(process_tree(pid for pid in roots if pid is not None))
    finally:
        platform.stop()
        await asyncio.to_thread(infra.script, "kafka.sh", "stop", str(kafka_state))
    return {
        "kafka_s": round(kafka_ready - started, 2),
        "services_s": round(finished - kafka_ready, 2),
        "total_s": round(finished - started, 2),
        "sqlite_platform_rss_mib": round(memory["rss_kib"] / 1024),
        "fresh_databases": fresh,
        "with_web": with_web,
    }


def _services_and_kafka_kib(memory: dict[str, int]) -> int:
    return memory.get("services_rss_kib", 0) + memory.get("kafka_rss_kib", 0)


def _mib(memory: dict[str, int]) -> dict[str, float]:
    """RSS/PSS in MiB, in total and for the services, Kafka and PostgreSQL."""
    return {
        key.replace("_kib", "_mib"): round(value / 1024)
        for key, value in memory.items()
        if key.endswith("_kib")
    }


async def run(ctx: Context) -> dict[str, Any]:
    # The cleanup stops this Kafka too if a repeat is interrupted half-way.
    ctx.cleanup.push(
        "kafka (make up)", lambda: infra.script("kafka.sh", "stop", str(UP_STATE / "kafka"))
    )
    startups = []
    for repeat in range(ctx.repeats):
        startups.append(await _startup_once(ctx, fresh=repeat == 0))
        log.info("footprint scenario: start-up %s", startups[-1])
    await ctx.started_platform()
    rest = ctx.platform_memory()
    samples = ctx.memory_samples or [rest]
    # The figure: the services plus Kafka. PostgreSQL is reported beside it (its
    # RSS counts the shared buffers once per pooled connection; PSS splits them).
    peak = max(samples, key=_services_and_kafka_kib)
    total = statistics.median(s["total_s"] for s in startups)
    peak_gib = _services_and_kafka_kib(peak) / 1024 / 1024
    at_rest = [rest, ctx.memory_fresh] if ctx.memory_fresh else [rest]
    rest_gib = max(_services_and_kafka_kib(m) for m in at_rest) / 1024 / 1024
    return {
        "title": "Footprint: `make up` to all-ready, and memory of the platform",
        "figures": {"make up (warm caches)": spread(startups)},
        "derived": {
            "memory_after_start": _mib(ctx.memory_fresh) if ctx.memory_fresh else "n/a",
            "memory_peak_under_journeys": _mib(peak) if ctx.memory_samples else "not sampled",
            "memory_at_rest_end": _mib(rest),
            "processes_counted": len(ctx.platform_pids()),
        },
        "targets": [
            {"name": "make up to all-ready ≤ 30 s", "value": total, "met": total <= 30},
            {
                "name": f"RSS of services + Kafka at rest ≤ {LIMIT_GIB} GiB",
                "value": round(rest_gib, 2),
                "met": rest_gib <= LIMIT_GIB,
            },
            {
                "name": f"RSS of services + Kafka under the journeys ≤ {LIMIT_GIB} GiB",
                "value": round(peak_gib, 2) if ctx.memory_samples else "not sampled",
                "met": bool(ctx.memory_samples) and peak_gib <= LIMIT_GIB,
            },
        ],
        "runs": {"startup": startups, "memory_samples": ctx.memory_samples},
    }
