"""The platform's one clock: timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC (aware): what every timestamp the services store or send is."""
    return datetime.now(UTC)
