"""Kafka handlers: ``user.registered`` in, the new user's starting profile out.

The kit's consumer records each event id in the same unit of work
as the handler's effect, so a redelivered event changes nothing; the insert is
also keyed by user id, so a replay under a new event id creates nothing either.
A payload that fails validation raises: the consumer retries it, then dead-letters it.
"""

from __future__ import annotations

from collections.abc import Callable

from shopmesh.customers.domain import UserRegistered
from shopmesh.customers.repository import CustomersUnitOfWork
from shopmesh.customers.service import create_profile_for_new_user
from shopmesh.customers.settings import Settings
from shopmesh.kit.consumer import EventConsumer, Handler, event_consumer
from shopmesh.kit.events import EventEnvelope


async def on_user_registered(uow: CustomersUnitOfWork, envelope: EventEnvelope) -> None:
    """``user.registered``: create the user's profile unless they have one."""
    event = UserRegistered.model_validate(envelope.payload)
    await create_profile_for_new_user(uow, event)


HANDLERS: dict[str, Handler[CustomersUnitOfWork]] = {"user.registered": on_user_registered}


def user_events_consumer(
    settings: Settings, units: Callable[[], CustomersUnitOfWork]
) -> EventConsumer[CustomersUnitOfWork]:
    """The consumer of the user-events topic."""
    return event_consumer(
        settings,
        units,
        group_id=settings.group_id,
        topics=[settings.user_events_topic],
        handlers=HANDLERS,
    )
