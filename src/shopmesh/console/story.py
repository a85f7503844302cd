"""A subject's story across the platform: every event about an order, user or transaction,
in order, with its producer, time and trace id, and each consumer group that handles its
type, with when it applied it, or *missing* when it has not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopmesh.console.client import OpsClient

SUBJECTS = ("order", "user", "transaction")


@dataclass
class Hop:
    """One consumer group's part in an event: applied (when) or missing."""

    service: str
    consumer: str
    applied_at: str | None

    @property
    def missing(self) -> bool:
        return self.applied_at is None


@dataclass
class StoryEvent:
    event: dict[str, Any]  # the producer's record: event_id, event_type, producer, ...
    hops: list[Hop] = field(default_factory=list)


@dataclass
class Story:
    subject: str
    subject_id: str
    events: list[StoryEvent]
    unanswered: dict[str, str]  # services that did not answer: the story may lack their part


async def trace(client: OpsClient, subject: str, subject_id: str) -> Story:
    """Ask every service for its part of the subject's story and put the parts together."""
    states = await client.each("/state")
    produced = await client.each("/events", params={"subject": subject, "id": subject_id})
    events = sorted(
        (event for found in produced.ok.values() for event in found),
        key=lambda e: (e["occurred_at"], e["event_id"]),
    )
    applied: dict[tuple[str, str], str] = {}
    unanswered = {**states.failed, **produced.failed}
    if events:
        ids = [("event_id", e["event_id"]) for e in events]
        records = await client.each("/applied", params=ids)
        unanswered.update(records.failed)
        for found in records.ok.values():
            for record in found:
                applied[(record["event_id"], record["consumer"])] = record["applied_at"]
    return Story(
        subject=subject,
        subject_id=subject_id,
        events=[StoryEvent(e, _hops(e, states.ok, applied)) for e in events],
        unanswered=unanswered,
    )


def _hops(
    event: dict[str, Any], states: dict[str, Any], applied: dict[tuple[str, str], str]
) -> list[Hop]:
    """The consumer groups whose topics and event types take ``event``."""
    return [
        Hop(service, consumer["group"], applied.get((event["event_id"], consumer["group"])))
        for service, state in sorted(states.items())
        for consumer in state["consumers"]
        if event["topic"] in consumer["topics"] and event["event_type"] in consumer["event_types"]
    ]


def render(story: Story) -> str:
    """The story as ``shopmesh trace`` prints it."""
    lines = [f"{story.subject} {story.subject_id}: {len(story.events)} events"]
    for item in story.events:
        e = item.event
        sent = "published" if e["published_at"] else "NOT PUBLISHED YET"
        lines.append(
            f"  {e['occurred_at']}  {e['event_type']:<22} from {e['producer']:<10} "
            f"on {e['topic']} ({sent}), trace {e['trace_id'] or '-'}"
        )
        for hop in item.hops:
            what = "MISSING: not applied" if hop.missing else f"applied {hop.applied_at}"
            lines.append(f"      -> {hop.service}/{hop.consumer}: {what}")
        if not item.hops:
            lines.append("      (no consumer applies this event type)")
    for service, why in sorted(story.unanswered.items()):
        lines.append(f"  ! {service} did not answer, its part may be missing: {why}")
    return "\n".join(lines)
