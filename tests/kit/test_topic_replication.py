"""Topics are created with the configured replication factor (3 on a cluster), not always 1."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from shopmesh.analytics.consumers import transactions_consumer
from shopmesh.analytics.repository import AnalyticsUnitOfWork
from shopmesh.analytics.settings import Settings as AnalyticsSettings
from shopmesh.kit import relay as relay_module
from shopmesh.kit.consumer import consumer as consumer_module
from shopmesh.kit.db import Database
from shopmesh.kit.relay import OutboxRelay


class Created(Exception):
    """Stops the client right after it asked for its topics."""


def record_topics(monkeypatch: pytest.MonkeyPatch, module: object) -> list[tuple[list[str], int]]:
    calls: list[tuple[list[str], int]] = []

    async def fake_ensure_topics(
        bootstrap: str, topics: Iterable[str], *, partitions: int = 3, replication: int = 1
    ) -> None:
        calls.append((list(topics), replication))
        raise Created

    monkeypatch.setattr(module, "ensure_topics", fake_ensure_topics)
    return calls


async def test_a_consumer_creates_its_topics_with_the_replication_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHOPMESH_KAFKA_REPLICATION", "3")
    calls = record_topics(monkeypatch, consumer_module)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    consumer = transactions_consumer(AnalyticsSettings(), lambda: AnalyticsUnitOfWork(db))
    with pytest.raises(Created):
        await consumer._consume()
    await db.close()
    assert calls == [(["transactions", "transactions.dlq"], 3)]


async def test_the_outbox_relay_creates_its_topics_with_the_replication_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = record_topics(monkeypatch, relay_module)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    relay = OutboxRelay(db, service="s", bootstrap="x:1", topics=["t"], replication=3)
    with pytest.raises(Created):
        async with relay._producer():
            pass
    await db.close()
    assert calls == [(["t"], 3)]
