"""``chaos/results/latest.md``: one summary table, then each scenario's checks and notes."""

from __future__ import annotations

from typing import Any

_COLUMNS = (
    ("sent", lambda s: s["requests"]["sent"]),
    ("acked", lambda s: s["requests"]["acknowledged"]),
    ("failed", lambda s: s["requests"]["failed"]),
    ("events produced", lambda s: s["figures"].get("events_produced", "-")),
    ("applied", lambda s: s["figures"].get("events_applied", "-")),
    ("redelivered (skipped)", lambda s: s["figures"].get("events_redelivered", "-")),
    ("double-counted", lambda s: s["figures"].get("events_double_counted", "-")),
    ("lost", lambda s: s["figures"].get("events_lost", "-")),
    ("result", lambda s: "PASS" if s["passed"] else "**FAIL**"),
)


def render_markdown(data: dict[str, Any]) -> str:
    lines = [
        "# Chaos run",
        "",
        f"{data['generated_at']} · {data['mode']} run · seed {data['seed']} · "
        f"overall **{'PASS' if data['passed'] else 'FAIL'}**",
        "",
        "How to read this: `chaos/README.md`. Events are the payments outbox's events "
        "(payments → Kafka → analytics); *redelivered* copies reached Kafka more than "
        "once and were skipped by the idempotent consumer; *double-counted* and *lost* must be 0.",
        "",
        "| scenario | " + " | ".join(name for name, _ in _COLUMNS) + " |",
        "|---|" + "---|" * len(_COLUMNS),
    ]
    for scenario in data["scenarios"]:
        cells = " | ".join(str(value(scenario)) for _, value in _COLUMNS)
        lines.append(f"| {scenario['name']} | {cells} |")
    for scenario in data["scenarios"]:
        lines += ["", f"## {scenario['name']}: {scenario['title']}", ""]
        verdict = "PASS" if scenario["passed"] else "FAIL"
        lines.append(f"**{verdict}** in {scenario['seconds']} s.")
        if scenario["error"]:
            lines += ["", f"Error: `{scenario['error'][:500]}`"]
        failures = scenario["requests"]["failures"]
        if failures:
            why = ", ".join(f"{reason} x{n}" for reason, n in sorted(failures.items()))
            lines += ["", f"Failed requests: {why}."]
        retried = scenario["requests"].get("retried_attempts")
        if retried:
            why = ", ".join(f"{reason} x{n}" for reason, n in sorted(retried.items()))
            lines += ["", f"Attempts the clients retried (same Idempotency-Key): {why}."]
        if scenario["notes"]:
            lines += ["", "What happened:", ""] + [f"- {note}" for note in scenario["notes"]]
        if scenario["checks"]:
            lines += ["", "| check | ok | detail |", "|---|---|---|"]
            for check in scenario["checks"]:
                mark = "yes" if check["ok"] else "**NO**"
                detail = str(check["detail"]).replace("|", "/")
                lines.append(f"| {check['name']} | {mark} | {detail} |")
        extra = {
            k: v
            for k, v in scenario["figures"].items()
            if k
            not in {
                "events_produced",
                "events_applied",
                "events_redelivered",
                "events_double_counted",
                "events_lost",
            }
        }
        if extra:
            lines += ["", "Figures: " + ", ".join(f"{k} = {v}" for k, v in extra.items()) + "."]
    return "\n".join(lines) + "\n"
