"""Shared pieces of the hostile tests: tokens the gateway process accepts, unique markers."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shopmesh.kit.jwt import Principal, issue_token

from .process import SECRET
from .raw import exchange, request
from .recorder import RecordingUpstream


def token(user_id: int, role: str = "user") -> str:
    principal = Principal(user_id=user_id, username=f"user{user_id}", role=role)
    return issue_token(principal, secret=SECRET, issuer="shopmesh-auth", ttl=timedelta(hours=1))


def marker() -> str:
    """A query value no other request carries: how a test finds its request upstream."""
    return f"m{uuid.uuid4().hex[:12]}"


async def settle(upstream: RecordingUpstream, port: int) -> None:
    """Wait until a fresh request has passed the gateway to the upstream.

    Whatever the gateway wrote upstream before it was asked this (on any
    connection) has reached the recorder by then: a later "nothing arrived"
    is not a race.
    """

    mark = marker()
    answer = await exchange(port, request("GET", f"/api/products/settle?{mark}"))
    assert answer.status == 200, answer
    await upstream.wait_for(mark)
