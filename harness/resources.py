"""Local resources a disposable platform uses: free ports, its PostgreSQL databases, its
emptied Kafka topics, and a webhook receiver standing in for the systems the dispatcher
notifies."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from shopmesh.catalog import TOPIC_KEYS
from shopmesh.kit.aio import poll
from shopmesh.kit.kafka import KafkaNamespace, dead_letter_topic

# Every topic of the platform (plain names).
PLATFORM_TOPICS = tuple(TOPIC_KEYS)


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_dsn(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+asyncpg://``) as a plain libpq DSN for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(admin_url: str, database: str) -> str:
    """``admin_url`` pointing at another database of the same server."""
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


async def reset_topics(
    bootstrap: str,
    namespace: KafkaNamespace = KafkaNamespace(),
    topics: Iterable[str] = PLATFORM_TOPICS,
    *,
    wait: bool = True,
) -> None:
    """Delete ``topics`` of ``namespace`` and their dead-letter topics (the services recreate
    them); other namespaces' topics stay as they are.

    Kafka deletes topics in the background: with ``wait`` this returns only once they are
    gone, so a service started next cannot subscribe to (or create) a topic that is still
    being deleted and then read the new one from stale offsets.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = (namespace.topic(t) for base in topics for t in (base, dead_letter_topic(base)))
        doomed = {t for t in names if t in existing}
        if doomed:
            await admin.delete_topics(sorted(doomed))
            if not wait:
                return

            async def gone() -> bool:
                return not doomed & set(await admin.list_topics())

            await poll(gone, timeout=60, interval=0.2, what=f"Kafka to delete {sorted(doomed)}")
    finally:
        await admin.close()


@dataclass
class WebhookReceiver:
    """Records what the dispatcher posts; answers 500 to the first ``fail_first`` calls."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 1
    calls: int = 0


@asynccontextmanager
async def webhook_receiver(*, fail_first: int = 1) -> AsyncIterator[WebhookReceiver]:
    """A local HTTP endpoint for the dispatcher's webhooks, on a free port."""
    receiver = WebhookReceiver(fail_first=fail_first)

    async def receive(request: web.Request) -> web.Response:
        receiver.calls += 1
        if receiver.calls <= receiver.fail_first:
            return web.Response(status=500)
        receiver.received.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()
