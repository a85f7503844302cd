"""`make bench`: run every scenario (or one) and write bench/results/latest.{json,md}.

    python -m bench.run [--scenario NAME ...] [--quick] [--repeats N]

``BENCH_QUICK=1`` (or ``--quick``) runs short durations once, for
development; its report goes under ``bench/results/<time>.raw/`` (ignored
by git), as does that of a run of some scenarios only. Only a full run of
every scenario replaces ``latest.json`` / ``latest.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench import infra, report
from bench.context import Context, env_flag
from bench.measure import CpuShare, machine
from bench.scenarios import events, footprint, gateway, journeys, orders, payments

log = logging.getLogger("bench")
RESULTS = infra.REPO / "bench" / "results"

Scenario = Callable[[Context], Awaitable[dict[str, Any]]]
# Run order: the gateway first (no platform needed), footprint last (it samples memory
# during the journeys and starts a platform of its own).
SCENARIOS: dict[str, Scenario] = {
    "gateway": gateway.run,
    "payments": payments.run,
    "events": events.run,
    "orders": orders.run,
    "journeys": journeys.run,
    "footprint": footprint.run,
}

# The scenarios that run on the shared platform (the gateway's needs none).
ON_THE_PLATFORM = frozenset(SCENARIOS) - {"gateway"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), default=[])
    parser.add_argument("--quick", action="store_true", default=env_flag("BENCH_QUICK"))
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s")
    names = [name for name in SCENARIOS if name in args.scenario] or list(SCENARIOS)
    full = not args.quick and names == list(SCENARIOS)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    raw_dir = RESULTS / f"{stamp}.raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    repeats = args.repeats or (1 if args.quick else 3)
    ctx = Context(quick=args.quick, repeats=repeats, raw_dir=raw_dir, cleanup=infra.Cleanup())
    infra.terminate_as_interrupt()
    infra.drop_old_logs()
    results: dict[str, Any] = {
        "started_at": stamp,
        "commit": _commit(),
        "quick": args.quick,
        "repeats": repeats,
        "machine": machine(),
        "kafka_version": _kafka_version(),
        "scenarios": {},
    }
    try:
        asyncio.run(_run(ctx, names, results))
    except KeyboardInterrupt:
        log.warning("interrupted: stopping everything the benchmark started")
        return 130
    finally:
        ctx.cleanup.run()
    json_path, md_path = report.write(results, RESULTS if full else raw_dir)
    print(f"\nwrote {json_path} and {md_path}\n")
    print(md_path.read_text())
    failed = [n for n, s in results["scenarios"].items() if "error" in s]
    return 1 if failed else 0


async def _run(ctx: Context, names: list[str], results: dict[str, Any]) -> None:
    for name in names:
        if name in ON_THE_PLATFORM:
            # Started before the CPU share is taken: the first of these scenarios reports
            # CPU by part too, and the platform's start-up is not counted as its work.
            await ctx.started_platform()
        log.info("scenario %s ...", name)
        started = time.monotonic()
        share = CpuShare(ctx.bench_pids, ctx.platform_parts)
        try:
            outcome = await SCENARIOS[name](ctx)
        except Exception as exc:
            log.error("scenario %s failed:\n%s", name, traceback.format_exc())
            outcome = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
        outcome["duration_s"] = round(time.monotonic() - started, 1)
        outcome["cpu"] = share.finish()
        log.info("scenario %s: cpu %s", name, outcome["cpu"])
        results["scenarios"][name] = outcome


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(infra.REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "-C", str(infra.REPO), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _kafka_version() -> str:
    pom = (infra.REPO / "deploy" / "kafka" / "pom.xml").read_text()
    start = pom.find("<kafka.version>")
    end = pom.find("</kafka.version>")
    return pom[start + len("<kafka.version>") : end] if start >= 0 else "unknown"


if __name__ == "__main__":
    sys.exit(main())
