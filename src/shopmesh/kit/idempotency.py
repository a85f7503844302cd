"""Idempotent requests: a retry with the same ``Idempotency-Key`` gets the first answer.

A use case fingerprints what it was asked (:meth:`IdempotentRequest.of`) and,
in the unit of work that makes the change, claims the key for its caller
(:meth:`IdempotencyRecords.claim`) and remembers its result; the claim and the
change commit together. A later request with the key gets the stored result
back (:class:`Outcome` ``replayed``); one with the key but another fingerprint
is refused (:class:`IdempotencyKeyReused`). On PostgreSQL a concurrent claim
of a key waits until the first request's transaction ends, then sees its record.

The routes' side (the header, ``Idempotent-Replayed``) is in :mod:`shopmesh.kit.app`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import JSON, BigInteger, Column, Index, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.db import UTCDateTime, insert_for
from shopmesh.kit.errors import Conflict, Unprocessable

T = TypeVar("T")
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request")


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """An ``Idempotency-Key`` and a fingerprint of the request it came with."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, request: object) -> IdempotentRequest | None:
        """``None`` without a key; ``request`` is what makes two requests the same one
        (JSON-able: a dict's keys are sorted, other values are taken as their text)."""
        if key is None:
            return None
        canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS, default=str)
        return cls(key=key, fingerprint=hashlib.sha256(canonical).hexdigest())


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A use case's result; ``replayed`` when it is the stored answer to an earlier request."""

    value: T
    replayed: bool = False


def idempotency_table(metadata: MetaData) -> Table:
    """A service's ``idempotency_record`` table, in its ``metadata`` (its migrations make it):
    a key per owner (the caller), the request's fingerprint and the JSON result; retention
    deletes old keys by ``created_at``."""
    return Table(
        "idempotency_record",
        metadata,
        Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("result", JSON),
        Column("created_at", UTCDateTime, nullable=False),
        Index("ix_idempotency_record_created_at", "created_at"),
    )


class IdempotencyRecords:
    """The idempotency records of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection, table: Table) -> None:
        self._connection = connection
        self._table = table

    async def claim(
        self, owner_id: int, request: IdempotentRequest, *, now: datetime, result: Any = None
    ) -> Any | None:
        """Take ``request.key`` for this request (``result``, if already known, stored with
        it); ``None`` when taken now, else the result an earlier request with the key stored.

        Raises :class:`IdempotencyKeyReused` when the earlier request was another one, and
        :class:`~shopmesh.kit.errors.Conflict` when it has not finished yet.
        """
        table = self._table
        statement = (
            insert_for(self._connection, table)
            .values(
                owner_id=owner_id,
                key=request.key,
                request_hash=request.fingerprint,
                result=result,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["owner_id", "key"])
            .returning(table.c.key)
        )
        if (await self._connection.execute(statement)).first() is not None:
            return None
        earlier = await self.find(owner_id, request)
        if earlier is None:  # the conflicting row vanished meanwhile: the client may retry
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return earlier

    async def find(self, owner_id: int, request: IdempotentRequest) -> Any | None:
        """The result an earlier request with ``request.key`` stored; ``None`` when there was
        none. Raises like :meth:`claim` for another request or one still in progress."""
        table = self._table
        query = select(table.c.request_hash, table.c.result).where(
            table.c.owner_id == owner_id, table.c.key == request.key
        )
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        if row.request_hash != request.fingerprint:
            raise IdempotencyKeyReused()
        if row.result is None:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return row.result

    async def remember(self, owner_id: int, request: IdempotentRequest, result: Any) -> None:
        """Store the result of the request that claimed ``request.key``."""
        table = self._table
        statement = (
            update(table)
            .where(table.c.owner_id == owner_id, table.c.key == request.key)
            .values(result=result)
        )
        await self._connection.execute(statement)
