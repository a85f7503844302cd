"""The benchmark runner: CPU by part for every scenario on the platform; no old logs kept."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench import infra, run


class FakeContext:
    """A platform that is one process (this one), there only once started."""

    def __init__(self) -> None:
        self.started = False

    async def started_platform(self) -> None:
        self.started = True

    def bench_pids(self) -> set[int]:
        return {os.getpid()}

    def platform_parts(self) -> dict[str, set[int]]:
        return {"orders": {os.getpid()}} if self.started else {}


async def test_the_first_scenario_on_the_platform_reports_cpu_by_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def without_platform(ctx: Any) -> dict[str, Any]:
        return {"figures": {}}

    async def on_platform(ctx: Any) -> dict[str, Any]:
        await ctx.started_platform()  # as the real scenarios do
        sum(i * i for i in range(200_000))  # some CPU to count
        return {"figures": {}}

    monkeypatch.setattr(run, "SCENARIOS", {"gateway": without_platform, "payments": on_platform})
    results: dict[str, Any] = {"scenarios": {}}
    ctx = FakeContext()

    await run._run(ctx, ["gateway", "payments"], results)  # type: ignore[arg-type]

    cpu = {name: s["cpu"]["cpu_seconds_by_part"] for name, s in results["scenarios"].items()}
    assert "orders" not in cpu["gateway"]  # the gateway scenario runs without the platform
    assert "orders" in cpu["payments"]


def test_a_run_starts_without_the_logs_of_earlier_runs(tmp_path: Path) -> None:
    logs = [
        tmp_path / "gateway-overhead" / "logs" / "gateway-bench.log",
        tmp_path / "nginx" / "proxy" / "access.log",
        tmp_path / "platform" / "logs" / "orders.log",
    ]
    kept = [
        tmp_path / "kafka" / "data" / "orders-0" / "00000000000000000000.log",  # a segment
        tmp_path / "nginx" / "proxy" / "nginx.conf",
    ]
    for path in logs + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")

    infra.drop_old_logs(tmp_path)

    assert [path.exists() for path in logs] == [False] * len(logs)
    assert [path.exists() for path in kept] == [True] * len(kept)
