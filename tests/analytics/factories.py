"""Builders of analytics' inputs: events in the payments service's JSON shape, tokens, settings."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shopmesh.analytics.repository import AnalyticsUnitOfWork
from shopmesh.analytics.service import StatsService
from shopmesh.analytics.settings import Settings
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope
from shopmesh.kit.jwt import Principal, issue_token

JWT_SECRET = "test-secret-0123456789-0123456789-abcdef"
JWT_ISSUER = "shopmesh-auth"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def new_user_id() -> int:
    return random.randint(1, 2**31)


def _envelope_fields(event_type: str, event_id: str | None) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "payments",
    }


def created(
    *,
    user_id: int,
    amount: Any = 10.0,
    at: datetime = T0,
    event_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A ``transaction.created`` payload; ``amount`` goes out as a JSON number when it is one."""
    payload = {
        **_envelope_fields("transaction.created", event_id),
        "transaction_id": random.randint(1, 2**31),
        "user_id": user_id,
        "amount": amount,
        "description": "coffee beans",
        "timestamp": at.isoformat(),
    }
    return {**payload, **overrides}


def paid(
    *,
    user_id: int,
    transactions_paid: int,
    at: datetime = T0,
    event_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A ``transaction.paid`` payload."""
    payload = {
        **_envelope_fields("transaction.paid", event_id),
        "user_id": user_id,
        "transactions_paid": transactions_paid,
        "timestamp": at.isoformat(),
    }
    return {**payload, **overrides}


def encode(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload)


def envelope(payload: dict[str, Any]) -> EventEnvelope:
    """The envelope the consumer would hand a handler for this payload."""
    return EventEnvelope.parse(encode(payload), topic="transactions")


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def token(*, role: str = "user", user_id: int = 1) -> str:
    principal = Principal(user_id=user_id, username=f"u{user_id}", role=role)
    return issue_token(principal, secret=JWT_SECRET, issuer=JWT_ISSUER, ttl=timedelta(hours=1))


def settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_enabled": False,
        "jwt_secret": JWT_SECRET,
        "jwt_issuer": JWT_ISSUER,
        "consumer_max_attempts": 2,
        "consumer_retry_backoff": 0.01,
    }
    return Settings(**{**values, **overrides})


def stats_of(db: Database) -> StatsService:
    """What analytics answers about ``db``."""
    return StatsService(lambda: AnalyticsUnitOfWork(db))
