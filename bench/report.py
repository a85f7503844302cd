"""The results: ``latest.json`` (everything) and ``latest.md`` (the figures a person reads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
        for note in scenario.get("notes", []):
            lines += ["", f"- {note}"]
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
