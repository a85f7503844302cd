"""The benchmark runner: CPU by part is reported for every scenario on the platform."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench import run


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
