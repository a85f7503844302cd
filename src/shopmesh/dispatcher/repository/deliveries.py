"""Webhook delivery queries, in a unit of work; none commits.

An attempt starts by *claiming* the row: a conditional UPDATE that counts the
attempt and pushes ``next_attempt_at`` past the call's timeout (a lease), so
no other worker calls the same URL for it meanwhile; if the worker dies, the
lease runs out and the row is tried again. The outcome is recorded only if
the row still holds that claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.dispatcher.domain import Delivery, DeliveryStatus
from shopmesh.dispatcher.repository.tables import WebhookDeliveryRow
from shopmesh.kit.db import rowcount

_PENDING = DeliveryStatus.PENDING.value
_ERROR_LENGTH = 500
_COLUMNS = tuple(cast(Table, WebhookDeliveryRow.__table__).c)


class Deliveries:
    """The webhook deliveries of one unit of work (on its connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self,
        *,
        shipment_id: int,
        order_id: int,
        urls: Sequence[str],
        payload: str,
        now: datetime,
    ) -> None:
        """Queue one delivery of ``payload`` per URL, due at once."""
        if not urls:
            return
        rows = [
            {
                "shipment_id": shipment_id,
                "order_id": order_id,
                "url": url,
                "payload": payload,
                "attempts": 0,
                "status": _PENDING,
                "next_attempt_at": now,
                "created_at": now,
            }
            for url in urls
        ]
        await self._connection.execute(insert(WebhookDeliveryRow), rows)

    async def due_ids(self, *, now: datetime, limit: int) -> list[int]:
        """Pending deliveries whose next attempt is due, most overdue first."""
        query = (
            select(WebhookDeliveryRow.id)
            .where(WebhookDeliveryRow.status == _PENDING, WebhookDeliveryRow.next_attempt_at <= now)
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
            .limit(limit)
        )
        return [int(i) for i in (await self._connection.execute(query)).scalars()]

    async def next_attempt_at(self) -> datetime | None:
        """When the earliest pending delivery is due (a call in flight: when its lease ends)."""
        query = select(func.min(WebhookDeliveryRow.next_attempt_at)).where(
            WebhookDeliveryRow.status == _PENDING
        )
        due: datetime | None = (await self._connection.execute(query)).scalar()
        return due

    async def claim(
        self, delivery_id: int, *, now: datetime, lease_until: datetime
    ) -> Delivery | None:
        """Take the delivery for one attempt (counted now); None if it is not due or taken."""
        statement = (
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery_id,
                WebhookDeliveryRow.status == _PENDING,
                WebhookDeliveryRow.next_attempt_at <= now,
            )
            .values(attempts=WebhookDeliveryRow.attempts + 1, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        if rowcount(await self._connection.execute(statement)) != 1:
            return None
        return await self.get(delivery_id)

    async def record_delivered(self, delivery_id: int, *, attempts: int, now: datetime) -> None:
        statement = (
            _still_claimed(delivery_id, attempts)
            .values(status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_error=None)
            .execution_options(synchronize_session=False)
        )
        await self._connection.execute(statement)

    async def record_failure(
        self,
        delivery_id: int,
        *,
        attempts: int,
        error: str,
        retry_at: datetime | None,
    ) -> None:
        """Note a failed attempt: try again at ``retry_at``, or give up when it is None."""
        values: dict[str, object] = {"last_error": error[:_ERROR_LENGTH]}
        if retry_at is None:
            values["status"] = DeliveryStatus.FAILED.value
        else:
            values["next_attempt_at"] = retry_at
        statement = (
            _still_claimed(delivery_id, attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await self._connection.execute(statement)

    async def requeue_failed(self, delivery_id: int, *, now: datetime) -> bool:
        """Failed → pending with fresh attempts, due now; False unless it had failed."""
        statement = (
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id == delivery_id,
                WebhookDeliveryRow.status == DeliveryStatus.FAILED.value,
            )
            .values(status=_PENDING, attempts=0, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(await self._connection.execute(statement)) == 1

    async def get(self, delivery_id: int) -> Delivery | None:
        query = select(*_COLUMNS).where(WebhookDeliveryRow.id == delivery_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _to_delivery(row)

    async def newest_first(
        self, *, status: DeliveryStatus | None, limit: int, offset: int
    ) -> list[Delivery]:
        """Deliveries newest first, optionally of one status."""
        query = select(*_COLUMNS).order_by(WebhookDeliveryRow.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(WebhookDeliveryRow.status == status.value)
        return [_to_delivery(row) for row in (await self._connection.execute(query)).all()]


def _still_claimed(delivery_id: int, attempts: int) -> Update:
    return update(WebhookDeliveryRow).where(
        WebhookDeliveryRow.id == delivery_id,
        WebhookDeliveryRow.status == _PENDING,
        WebhookDeliveryRow.attempts == attempts,
    )


def _to_delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        shipment_id=row.shipment_id,
        order_id=row.order_id,
        url=row.url,
        payload=row.payload,
        attempts=row.attempts,
        status=DeliveryStatus(row.status),
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )
