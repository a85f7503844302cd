"""Kafka handlers: ``user.registered`` in, the new user's starting profile out.

The kit's :class:`EventConsumer` records each event id in the same transaction
as the handler's effect, so a redelivered event changes nothing; the insert is
also keyed by user id, so a replay under a new event id creates nothing either.
A payload that fails validation raises: the consumer retries it, then dead-letters it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shopmesh.customers.domain import UserRegistered
from shopmesh.customers.service import create_profile_for_new_user
from shopmesh.customers.settings import Settings
from shopmesh.kit.consumer import EventConsumer, Handler
from shopmesh.kit.db import Database
from shopmesh.kit.events import EventEnvelope


async def on_user_registered(session: AsyncSession, envelope: EventEnvelope) -> None:
    """``user.registered``: create the user's profile unless they have one."""
    event = UserRegistered.model_validate(envelope.payload)
    await create_profile_for_new_user(session, event)


HANDLERS: dict[str, Handler] = {"user.registered": on_user_registered}


def user_events_consumer(db: Database, settings: Settings) -> EventConsumer:
    """The consumer of the user-events topic, configured from ``settings``."""
    return EventConsumer(
        db,
        service=settings.service_name,
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        handlers=HANDLERS,
        topics=[settings.user_events_topic],
        max_attempts=settings.consumer_max_attempts,
        retry_backoff=settings.consumer_retry_backoff,
        replication=settings.kafka_replication,
    )
