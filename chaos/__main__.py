"""``python -m chaos [--scenario NAME] [--quick]``: run fault scenarios, write a report.

Starts its own PostgreSQL (35432) and Kafka (39092; the three-node cluster
on 391N2: 39112, 39122, 39132) under ``.data/chaos``, runs each scenario on a fresh platform,
stops everything it started (also on failure or Ctrl-C) and writes
``chaos/results/latest.md`` and ``latest.json``. Exits 1 when a scenario fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from chaos.context import Config, Context, Result, describe
from chaos.infra import REPO, Postgres, single_kafka
from chaos.ledger import Findings
from chaos.load import Tally
from chaos.report import render_markdown
from chaos.scenarios import SCENARIOS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chaos", description=__doc__)
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only this scenario (repeatable); default: all",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("CHAOS_QUICK", "") not in {"", "0"},
        help="smaller load and shorter outages (also CHAOS_QUICK=1)",
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "0")) or None)
    parser.add_argument("--results", type=Path, default=REPO / "chaos" / "results")
    return parser.parse_args(argv)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every finally block stops what it started.
    raise KeyboardInterrupt(f"signal {signum}")


async def run(args: argparse.Namespace) -> list[Result]:
    root = REPO / ".data" / "chaos"
    seed = int(args.seed)
    config = Config(root=root, quick=args.quick, seed=seed)
    postgres = Postgres(root / "postgres")
    kafka = single_kafka(root)
    shutil.rmtree(kafka.nodes[0].state_dir, ignore_errors=True)  # a fresh log every run
    names = args.scenario or list(SCENARIOS)
    print(f"chaos: seed {seed}, {'quick' if args.quick else 'full'} run of {', '.join(names)}")
    results = []
    starting = asyncio.gather(asyncio.to_thread(postgres.start), asyncio.to_thread(kafka.start))
    try:
        await asyncio.shield(starting)
        ctx = Context(config, postgres, kafka, random.Random(seed))
        for name in names:
            results.append(await run_one(name, ctx))
    finally:
        # Interrupted while starting: let the starts finish, so the stops find the servers.
        await asyncio.gather(starting, return_exceptions=True)
        print("chaos: stopping the PostgreSQL and Kafka it started")
        kafka.stop()
        postgres.stop()
    return results


async def run_one(name: str, ctx: Context) -> Result:
    print(f"chaos: --- {name} ---", flush=True)
    started = time.monotonic()
    try:
        result = await SCENARIOS[name](ctx)
    except Exception as exc:
        traceback.print_exc()
        result = Result(
            name, name, Tally(), Findings(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
    result.seconds = time.monotonic() - started
    verdict = "PASS" if result.passed else "FAIL"
    print(f"chaos: {name}: {verdict} in {result.seconds:.0f} s", flush=True)
    for check in result.findings.checks:
        if not check.ok:
            print(f"chaos:   failed check: {check.name} ({check.detail})", flush=True)
    return result


def write_report(results: list[Result], args: argparse.Namespace, seed_note: str) -> None:
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    data = {
        "generated_at": stamp,
        "mode": "quick" if args.quick else "full",
        "seed": seed_note,
        "passed": all(r.passed for r in results),
        "scenarios": [describe(r) for r in results],
    }
    (args.results / "latest.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    (args.results / "latest.md").write_text(render_markdown(data))
    print(f"chaos: report in {args.results / 'latest.md'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 10**6)
    try:
        results = asyncio.run(run(args))
    except KeyboardInterrupt:
        print("chaos: interrupted; everything it started has been stopped", file=sys.stderr)
        return 130
    write_report(results, args, str(args.seed))
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
