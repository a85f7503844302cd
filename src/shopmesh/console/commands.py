"""``shopmesh dlq list|show|replay|discard`` and ``shopmesh trace``: the operator's console
in a terminal, through the gateway as an administrator."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from shopmesh.console.client import OPERATED, ConsoleError, OpsClient
from shopmesh.console.story import SUBJECTS, render, trace

DEFAULT_GATEWAY = "http://127.0.0.1:8080"


def add_commands(commands: Any) -> None:
    """Add ``dlq`` and ``trace`` to the ``shopmesh`` command's subcommands."""
    dlq = commands.add_parser("dlq", help="dead letters: list, show, replay, discard")
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = actions.add_parser("list", help="every service's dead letters, newest first")
    _filters(listing)
    listing.add_argument("--status", choices=["pending", "replayed", "discarded"])
    show = actions.add_parser("show", help="one dead letter in full")
    show.add_argument("id", help="<topic>.dlq:<partition>:<offset>")
    replay = actions.add_parser("replay", help="apply a dead letter (or all pending) again")
    replay.add_argument("id", nargs="?", help="one dead letter; without it, use --all")
    replay.add_argument("--all", action="store_true", help="every pending one (see filters)")
    _filters(replay)
    discard = actions.add_parser("discard", help="set a dead letter aside for good")
    discard.add_argument("id")
    story = commands.add_parser("trace", help="every event about an order, user or transaction")
    story.add_argument("subject", choices=SUBJECTS)
    story.add_argument("subject_id", metavar="id")
    for parser in (listing, show, replay, discard, story):
        parser.add_argument(
            "--gateway",
            default=os.environ.get("SHOPMESH_GATEWAY_URL", DEFAULT_GATEWAY),
            help="the gateway (SHOPMESH_GATEWAY_URL); signs in with SHOPMESH_TOKEN or "
            "SHOPMESH_ADMIN_USERNAME / SHOPMESH_ADMIN_PASSWORD",
        )


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", choices=OPERATED, help="only this service's consumers")
    parser.add_argument("--topic", help="only dead letters of this original topic")
    parser.add_argument("--event-type", help="only this event type")


def run(args: argparse.Namespace) -> int:
    """Run a ``dlq`` or ``trace`` command; 0 on success, 1 when something was refused."""
    command = _trace if args.command == "trace" else _DLQ[args.dlq_command]
    try:
        return asyncio.run(_with_client(args, command))
    except ConsoleError as exc:
        print(f"error: {exc}")
        return 1


async def _with_client(
    args: argparse.Namespace, command: Callable[[OpsClient, argparse.Namespace], Awaitable[int]]
) -> int:
    client = await OpsClient.signed_in(args.gateway)
    try:
        return await command(client, args)
    finally:
        await client.close()


async def _trace(client: OpsClient, args: argparse.Namespace) -> int:
    print(render(await trace(client, args.subject, args.subject_id)))
    return 0


async def _list(client: OpsClient, args: argparse.Namespace) -> int:
    query = {k: v for k, v in _query(args).items() if v}
    if args.status:
        query["status"] = args.status
    answers = await client.each("/dead-letters", params=query, services=_services(args))
    letters = sorted(
        (letter for found in answers.ok.values() for letter in found),
        key=lambda letter: letter["dead_lettered_at"],
        reverse=True,
    )
    print(f"{'id':<30} {'service':<11} {'event type':<20} {'status':<10} {'tries':>5}  reason")
    for d in letters:
        print(
            f"{d['id']:<30} {d['service']:<11} {d['event_type'] or '(not an event)':<20} "
            f"{d['status']:<10} {d['attempts']:>5}  {d['reason']}"
        )
    for service, why in sorted(answers.failed.items()):
        print(f"! {service} did not answer: {why}")
    return 1 if answers.failed else 0


async def _show(client: OpsClient, args: argparse.Namespace) -> int:
    _, letter = await _owner(client, args.id)
    print(json.dumps(letter, indent=2))
    return 0


async def _replay(client: OpsClient, args: argparse.Namespace) -> int:
    if args.id is None:
        if not args.all:
            raise ConsoleError("name a dead letter, or replay every pending one with --all")
        return await _replay_all(client, args)
    body = await _act(client, args.id, "replay")
    print(f"{args.id}: {body['actions'][-1]['outcome']} (by {body['actions'][-1]['actor']})")
    return 0


async def _replay_all(client: OpsClient, args: argparse.Namespace) -> int:
    failed = 0
    for service in _services(args):
        body = await client.post(service, "/dead-letters/replay", json=_query(args))
        for result in body["results"]:
            print(f"{result['id']}: {result['outcome']} {result['reason'] or ''}".rstrip())
        failed += body["failed"]
    return 1 if failed else 0


async def _discard(client: OpsClient, args: argparse.Namespace) -> int:
    await _act(client, args.id, "discard")
    print(f"{args.id}: discarded")
    return 0


async def _act(client: OpsClient, letter_id: str, action: str) -> dict[str, Any]:
    """``action`` (replay or discard) on the dead letter, at the service that owns it."""
    service, _ = await _owner(client, letter_id)
    body: dict[str, Any] = await client.post(service, f"/dead-letters/{letter_id}/{action}")
    return body


async def _owner(client: OpsClient, letter_id: str) -> tuple[str, dict[str, Any]]:
    """The service whose consumer gave up on ``letter_id``, and the dead letter."""
    answers = await client.each(f"/dead-letters/{letter_id}")
    if not answers.ok:
        reasons = "; ".join(sorted(answers.failed.values()))
        raise ConsoleError(f"no service has dead letter {letter_id}: {reasons}")
    return next(iter(answers.ok.items()))


def _services(args: argparse.Namespace) -> tuple[str, ...]:
    return (args.service,) if args.service else OPERATED


def _query(args: argparse.Namespace) -> dict[str, str | None]:
    return {"topic": args.topic, "event_type": args.event_type}


_DLQ: dict[str, Callable[[OpsClient, argparse.Namespace], Awaitable[int]]] = {
    "list": _list,
    "show": _show,
    "replay": _replay,
    "discard": _discard,
}
