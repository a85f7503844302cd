"""Every service's probes (``/health``, ``/ready``, ``/metrics``) and, for a service with a
database, ``/api/ops``: its state, dead letters and events, for administrators.

Both routers are built once per process; the app factory gives each app its runtime and
:class:`Operations`, which the routes get as dependencies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from shopmesh.kit.clock import utcnow
from shopmesh.kit.consumer import EventConsumer
from shopmesh.kit.db import Database
from shopmesh.kit.dependencies import AdminUser, Dependency
from shopmesh.kit.errors import ServiceUnavailable
from shopmesh.kit.kafka import kafka_reachable
from shopmesh.kit.metrics import render
from shopmesh.kit.operations import schemas
from shopmesh.kit.operations.deadletters import (
    ALREADY_APPLIED,
    APPLIED,
    FAILED,
    DeadLetterOffice,
)
from shopmesh.kit.operations.story import Subject, applied_of, produced_about
from shopmesh.kit.registry.client import RegistryError
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.tables import outbox_message

# How long reading or writing the dead-letter topics may take before the answer is 503.
KAFKA_TIMEOUT = 20.0
LetterId = Annotated[str, Path(max_length=300, description="<topic>.dlq:<partition>:<offset>")]
Status = Literal["pending", "replayed", "discarded"]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many (1..1000).")]
EventIds = Annotated[list[str], Query(alias="event_id", min_length=1, max_length=500)]


@asynccontextmanager
async def _kafka() -> AsyncIterator[None]:
    """Kafka away or slow: a clear 503, never a 500."""
    try:
        async with asyncio.timeout(KAFKA_TIMEOUT):
            yield
    except (KafkaError, OSError, TimeoutError):
        raise ServiceUnavailable("Kafka is unavailable, try again") from None


async def readiness(runtime: ServiceRuntime) -> dict[str, bool]:
    """What ``/ready`` checks: the database answers and (when used) Kafka is reachable."""
    checks = {}
    if runtime.database is not None:
        checks["database"] = await _database_ok(runtime.database)
        if runtime.settings.kafka_enabled:
            checks["kafka"] = await kafka_reachable(runtime.settings.kafka_bootstrap)
    return checks


async def _database_ok(db: Database) -> bool:
    try:
        async with asyncio.timeout(2.0):
            await db.ping()
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class Operations:
    """What one app's operations routes work on: its runtime, its consumers and (with
    Kafka) the office of their dead letters."""

    runtime: ServiceRuntime
    consumers: Sequence[EventConsumer[Any]]
    office: DeadLetterOffice | None

    @classmethod
    def of(cls, runtime: ServiceRuntime, consumers: Sequence[EventConsumer[Any]]) -> Operations:
        office = None
        if runtime.settings.kafka_enabled:
            office = DeadLetterOffice(
                consumers,
                bootstrap=runtime.settings.kafka_bootstrap,
                namespace=runtime.settings.namespace,
            )
        return cls(runtime, consumers, office)

    @property
    def service(self) -> str:
        return self.runtime.settings.service_name

    @property
    def database(self) -> Database:
        return self.runtime.db

    def desk(self) -> DeadLetterOffice:
        if self.office is None:
            raise ServiceUnavailable("this service runs without Kafka: it has no dead letters")
        return self.office


# Every app is given its runtime; an app with a database, its operations too.
RuntimeDependency = Dependency[ServiceRuntime]("service runtime")
OperationsDependency = Dependency[Operations]("operations")
Runtime = Annotated[ServiceRuntime, Depends(RuntimeDependency)]
Ops = Annotated[Operations, Depends(OperationsDependency)]

# Every service's probes.
probes = APIRouter(tags=["operations"])


@probes.get("/health")
async def health(runtime: Runtime) -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok", "service": runtime.settings.service_name}


@probes.get("/ready")
async def ready(runtime: Runtime) -> JSONResponse:
    """Ready: the database answers and (when used) Kafka is reachable."""
    checks = await readiness(runtime)
    ok = all(checks.values())
    body = {"status": "ready" if ok else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)


@probes.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    body, content_type = render()
    return Response(body, media_type=content_type)


# The operations API of a service with a database.
router = APIRouter(prefix="/api/ops", tags=["operations"])


@router.get("/state")
async def state(_: AdminUser, ops: Ops) -> schemas.ServiceState:
    """Readiness, outbox backlog and its oldest unsent event, consumer lag per partition,
    pending dead letters."""
    ready = await readiness(ops.runtime)
    pending = None
    if ops.office is not None:
        try:
            async with _kafka():
                pending = len(await ops.office.letters(status="pending"))
        except ServiceUnavailable:
            pending = None
    return schemas.ServiceState(
        service=ops.service,
        ready=all(ready.values()),
        checks=ready,
        outbox=await _outbox_state(ops.database) if ready.get("database", True) else None,
        consumers=[_consumer_state(c) for c in ops.consumers],
        dead_letters_pending=pending,
        instances=await _registered(ops.runtime),
    )


@router.get("/dead-letters")
async def dead_letters(
    _: AdminUser,
    ops: Ops,
    topic: Annotated[str | None, Query(max_length=240)] = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    status: Status | None = None,
    limit: Limit = 100,
) -> list[schemas.DeadLetterPublic]:
    """This service's dead letters, newest first."""
    async with _kafka():
        found = await ops.desk().letters(topic=topic, event_type=event_type, status=status)
    return [schemas.DeadLetterPublic.of(letter, ops.service) for letter in found[:limit]]


@router.get("/dead-letters/{letter_id}")
async def dead_letter(_: AdminUser, ops: Ops, letter_id: LetterId) -> schemas.DeadLetterDetail:
    """One dead letter in full: headers, the event, its history."""
    async with _kafka():
        letter = await ops.desk().get(letter_id)
    return schemas.DeadLetterDetail.full(letter, ops.service)


@router.post("/dead-letters/replay")
async def replay_all(
    admin: AdminUser, ops: Ops, body: schemas.ReplayFilter
) -> schemas.ReplayReport:
    """Replay every pending dead letter (of a topic and/or event type), oldest first."""
    async with _kafka():
        results = await ops.desk().replay_all(
            actor=admin.username, topic=body.topic, event_type=body.event_type
        )
    outcomes = [action.outcome for _, action in results]
    return schemas.ReplayReport(
        applied=outcomes.count(APPLIED),
        already_applied=outcomes.count(ALREADY_APPLIED),
        failed=outcomes.count(FAILED),
        results=[
            schemas.ReplayResult(id=letter.id, outcome=action.outcome, reason=action.reason)
            for letter, action in results
        ],
    )


@router.post("/dead-letters/{letter_id}/replay")
async def replay(admin: AdminUser, ops: Ops, letter_id: LetterId) -> schemas.DeadLetterDetail:
    """Apply the dead letter through its consumer's idempotent path (applied once however
    often it is replayed); 409 ``replay_failed`` while its cause is not fixed."""
    async with _kafka():
        letter = await ops.desk().replay(letter_id, actor=admin.username)
    return schemas.DeadLetterDetail.full(letter, ops.service)


@router.post("/dead-letters/{letter_id}/discard")
async def discard(admin: AdminUser, ops: Ops, letter_id: LetterId) -> schemas.DeadLetterDetail:
    """Set the dead letter aside for good (recorded; discarding again changes nothing)."""
    async with _kafka():
        letter = await ops.desk().discard(letter_id, actor=admin.username)
    return schemas.DeadLetterDetail.full(letter, ops.service)


@router.get("/events")
async def events(
    _: AdminUser,
    ops: Ops,
    subject: Subject,
    id: Annotated[str, Query(pattern=r"^[0-9]{1,19}$", description="The subject's id.")],
) -> list[schemas.ProducedPublic]:
    """The events this service produced about an order, user or transaction."""
    found = await produced_about(ops.database, subject, id)
    return [schemas.ProducedPublic(producer=ops.service, **_fields(e)) for e in found]


@router.get("/applied")
async def applied(_: AdminUser, ops: Ops, event_ids: EventIds) -> list[schemas.AppliedPublic]:
    """Which of these events this service's consumers applied, and when."""
    found = await applied_of(ops.database, event_ids)
    return [schemas.AppliedPublic(service=ops.service, **_fields(a)) for a in found]


async def _registered(runtime: ServiceRuntime) -> int | None:
    """How many instances of the service the registry knows (None: no registry, or away)."""
    if runtime.agent is None:
        return None
    try:
        return len(await runtime.agent.client.instances(runtime.settings.service_name))
    except RegistryError:
        return None


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


def _consumer_state(consumer: EventConsumer[Any]) -> schemas.ConsumerState:
    return schemas.ConsumerState(
        group=consumer.group_id,
        topics=list(consumer.topics),
        event_types=consumer.event_types,
        lag=[
            schemas.PartitionLag(topic=topic, partition=partition, lag=lag)
            for (topic, partition), lag in sorted(consumer.lag.items())
        ],
    )


async def _outbox_state(db: Database) -> schemas.OutboxState:
    unsent = outbox_message.c.published_at.is_(None)
    query = select(func.count(), func.min(outbox_message.c.created_at)).where(unsent)
    async with db.connection(autocommit=True) as connection:
        backlog, oldest = (await connection.execute(query)).one()
    age = None
    if oldest is not None:
        age = max((utcnow() - _aware(oldest)).total_seconds(), 0.0)
    return schemas.OutboxState(
        backlog=int(backlog), oldest_unsent_at=oldest, oldest_unsent_age_seconds=age
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
