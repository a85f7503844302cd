"""The ``shopmesh`` command: ``up``, ``down`` and ``status`` of the local platform, the
event catalogue, and the operator's ``dlq`` and ``trace`` (:mod:`shopmesh.console`).

``make up`` starts Kafka first (scripts/kafka.sh) and then calls ``shopmesh up``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from shopmesh.asyncapi import asyncapi_document
from shopmesh.catalog import events_document
from shopmesh.console.commands import add_commands
from shopmesh.console.commands import run as run_console
from shopmesh.kit.settings import ServiceSettings
from shopmesh.launcher import SERVICES, Launcher
from shopmesh.status import collect, render

DEFAULT_STATE_DIR = Path(".data/up")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopmesh", description=__doc__)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("SHOPMESH_STATE_DIR", DEFAULT_STATE_DIR)),
        help="where pid files, logs and SQLite databases live (default .data/up)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start every service and wait until all are ready")
    up.add_argument("--timeout", type=float, default=90.0)
    commands.add_parser("down", help="stop every service started by `up`")
    commands.add_parser(
        "status", help="show each service's process, readiness, instances, backlog and lag"
    )
    commands.add_parser("events", help="print the JSON Schema document of every event")
    commands.add_parser("asyncapi", help="print the AsyncAPI 3.0 document of every topic")
    add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "events":
        print(json.dumps(events_document(), indent=2, sort_keys=True))
        return 0
    if args.command == "asyncapi":
        print(json.dumps(asyncapi_document(), indent=2))
        return 0
    if args.command in {"dlq", "trace"}:
        return run_console(args)
    launcher = Launcher(args.state_dir.resolve())
    if args.command == "up":
        return up_command(launcher, timeout=args.timeout)
    if args.command == "down":
        stopped = launcher.stop_all()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    return status_command(launcher)


def up_command(launcher: Launcher, *, timeout: float) -> int:
    env = {
        "SHOPMESH_DATA_DIR": str(_data_dir(launcher)),
        # Every service registers itself and finds the others through the local registry.
        "SHOPMESH_REGISTRY_URL": os.environ.get("SHOPMESH_REGISTRY_URL", "http://127.0.0.1:9999"),
    }
    running = [launcher.start(spec, env=env) for spec in SERVICES]
    ready = asyncio.run(launcher.wait_ready(running, timeout=timeout))
    failed = [r for r in running if not ready[r.spec.key]]
    for service in failed:
        print(f"\n{service.spec.name} is not ready; last lines of {service.log_path}:")
        print(_tail(service.log_path), file=sys.stderr)
    if failed:
        return 1
    _print_welcome(launcher)
    return 0


def status_command(launcher: Launcher) -> int:
    urls = {spec.name: launcher.url(spec) for spec in SERVICES}
    registry = ServiceSettings(
        service_name="status",
        registry_url=os.environ.get("SHOPMESH_REGISTRY_URL", urls["registry"]),
    )
    statuses = asyncio.run(collect(urls, registry=registry))
    print(render(statuses, {spec.name: launcher.pid_of(spec) for spec in SERVICES}))
    return 0 if all(s.ready for s in statuses) else 1


def _print_welcome(launcher: Launcher) -> None:
    admin = os.environ.get("SHOPMESH_ADMIN_USERNAME", "admin")
    password = os.environ.get("SHOPMESH_ADMIN_PASSWORD", "admin12345")
    print("\nShopMesh is up.\n")
    for spec in SERVICES:
        print(f"  {spec.name:<10} {launcher.url(spec)}")
    print("\n  Shop (web UI):   http://localhost:3000")
    print("  API (gateway):   http://localhost:8080   e.g. POST /auth/register")
    print("  Analytics stats: http://127.0.0.1:8083/stats")
    print(f"  Admin login:     {admin} / {password}   (development default; set SHOPMESH_ADMIN_*)")
    print(f"  Mail:            {_mail_where(launcher)}")
    print(f"  Logs:            {launcher.log_dir}/\n  Stop with:       make down\n")


def _mail_where(launcher: Launcher) -> str:
    """Where password reset mail goes: the SMTP server, or .eml files (auth's data dir)."""
    if os.environ.get("SHOPMESH_SMTP_URL"):
        return "sent through SHOPMESH_SMTP_URL"
    return f"{_data_dir(launcher) / 'mail'}/   (password reset links, as .eml files)"


def _data_dir(launcher: Launcher) -> Path:
    return launcher.state_dir / "db"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


if __name__ == "__main__":
    sys.exit(main())
