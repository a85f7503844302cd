"""A tiny service built with the kit, so the kit is tested the way services use it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.app import CurrentUser, Dependency, ServiceApp, create_service_app
from shopmesh.kit.consumer import event_consumer
from shopmesh.kit.errors import Conflict
from shopmesh.kit.events import Event, EventEnvelope
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings
from shopmesh.kit.uow import UnitOfWork

MIGRATIONS = str(Path(__file__).parent / "sample_migrations")
SECRET = "test-secret-0123456789-0123456789-abcdef"


class NoteWritten(Event):
    topic: ClassVar[str] = "notes"
    event_type: Literal["note.written"] = "note.written"
    body: str

    def key(self) -> str:
        return self.body


class Notes:
    """The sample's repository: the ``note`` table."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, event_id: str, body: str) -> None:
        await self._connection.execute(
            text("INSERT INTO note (event_id, body) VALUES (:e, :b)"), {"e": event_id, "b": body}
        )


class NotesUnitOfWork(UnitOfWork):
    notes: Notes

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.notes = Notes(connection)


class NoteService:
    def __init__(self, units: Callable[[], NotesUnitOfWork]) -> None:
        self._units = units

    async def write(self, body: str) -> None:
        if body == "taken":
            raise Conflict("that note exists", code="note_taken")
        async with self._units() as uow:
            uow.outbox.add(NoteWritten(body=body, producer="sample"))


async def record_note(uow: NotesUnitOfWork, envelope: EventEnvelope) -> None:
    """Consumer handler: fails on purpose for bodies starting with 'poison'."""
    body = str(envelope.payload["body"])
    if body.startswith("poison"):
        raise ValueError("poisoned note")
    await uow.notes.add(envelope.event_id, body)


class NoteCreate(BaseModel):
    body: str = Field(min_length=1, max_length=200)


NotesDependency = Dependency[NoteService]("notes")
router = APIRouter()


@router.post("/notes", status_code=201)
async def write_note(
    note: NoteCreate, notes: Annotated[NoteService, Depends(NotesDependency)], user: CurrentUser
) -> dict[str, object]:
    await notes.write(note.body)
    return {"body": note.body, "user_id": user.user_id}


def sample_app(database_url: str, *, group: str | None = None, **overrides: Any) -> ServiceApp:
    """The sample service with settings ``overrides``; with ``group``, it also consumes
    ``notes`` as that group (recording each note it reads)."""
    settings = ServiceSettings(
        service_name="sample", database_url=database_url, jwt_secret=SECRET, **overrides
    )
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, produces=["notes"])
    units = runtime.units(NotesUnitOfWork)
    consumers = []
    if group is not None:
        handlers = {"note.written": record_note}
        consumers.append(
            event_consumer(settings, units, group_id=group, topics=["notes"], handlers=handlers)
        )
    return create_service_app(
        runtime,
        title="sample",
        routers=[router],
        dependencies=[NotesDependency.given(NoteService(units))],
        consumers=consumers,
    )
