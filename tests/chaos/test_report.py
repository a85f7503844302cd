"""The chaos report says what failed and why, and a failed check fails the scenario."""

from __future__ import annotations

from chaos.context import Result, describe
from chaos.ledger import Findings
from chaos.load import Tally
from chaos.report import render_markdown


def make_result(*, ok: bool) -> Result:
    tally = Tally(sent=10, acked=8)
    tally.failed["HTTP 503 service_unavailable"] = 2
    findings = Findings(figures={"events_produced": 8, "events_applied": 8, "events_lost": 0})
    findings.check("no event lost", True, "0 lost")
    findings.check("/stats equals the payments database", ok, "stats 7 vs db 8")
    return Result("kill-payments", "kill -9 payments", tally, findings, ["kill -9 at 5 answers"])


def test_a_failed_check_fails_the_scenario_and_the_report_shows_it() -> None:
    result = make_result(ok=False)
    assert not result.passed
    data = {
        "generated_at": "now",
        "mode": "quick",
        "seed": "1",
        "passed": False,
        "scenarios": [describe(result)],
    }
    text = render_markdown(data)
    assert "| kill-payments | 10 | 8 | 2 | 8 | 8 | - | - | 0 | **FAIL** |" in text
    assert "HTTP 503 service_unavailable x2" in text
    assert "| /stats equals the payments database | **NO** | stats 7 vs db 8 |" in text
    assert "overall **FAIL**" in text


def test_a_scenario_passes_only_when_every_check_holds_and_nothing_crashed() -> None:
    assert make_result(ok=True).passed
    crashed = make_result(ok=True)
    crashed.error = "RuntimeError: payments did not come back"
    assert not crashed.passed
