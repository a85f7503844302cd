"""A tiny service built with the kit, so the kit is tested the way services use it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shopmesh.kit.app import CurrentUser, Runtime, create_service_app
from shopmesh.kit.errors import Conflict
from shopmesh.kit.events import Event, EventEnvelope
from shopmesh.kit.outbox import add_events
from shopmesh.kit.settings import ServiceSettings

MIGRATIONS = str(Path(__file__).parent / "sample_migrations")
SECRET = "test-secret-0123456789-0123456789-abcdef"


class NoteWritten(Event):
    topic: ClassVar[str] = "notes"
    event_type: Literal["note.written"] = "note.written"
    body: str

    def key(self) -> str:
        return self.body


class NoteCreate(BaseModel):
    body: str = Field(min_length=1, max_length=200)


router = APIRouter()


@router.post("/notes", status_code=201)
async def write_note(note: NoteCreate, runtime: Runtime, user: CurrentUser) -> dict[str, object]:
    if note.body == "taken":
        raise Conflict("that note exists", code="note_taken")
    async with runtime.transaction() as session:
        await add_events(session, NoteWritten(body=note.body, producer="sample"))
    return {"body": note.body, "user_id": user.user_id}


async def record_note(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Consumer handler: fails on purpose for bodies starting with 'poison'."""
    body = str(envelope.payload["body"])
    if body.startswith("poison"):
        raise ValueError("poisoned note")
    await session.execute(
        text("INSERT INTO note (event_id, body) VALUES (:e, :b)"),
        {"e": envelope.event_id, "b": body},
    )


def sample_app(database_url: str, **overrides: object) -> object:
    settings = ServiceSettings(
        service_name="sample", database_url=database_url, jwt_secret=SECRET, **overrides
    )
    return create_service_app(
        settings, title="sample", routers=[router], migrations=MIGRATIONS, produces=["notes"]
    )
