"""An order's story put together from every service's part (a fake of the operations client),
and which events are about a subject."""

from __future__ import annotations

from typing import Any

from shopmesh.console.client import Answers
from shopmesh.console.story import render, trace
from shopmesh.kit.operations.story import is_about, trace_id_of


def state(service: str, group: str, types: list[str]) -> dict[str, Any]:
    consumer = {"group": group, "topics": ["order-events"], "event_types": types, "lag": []}
    return {"service": service, "consumers": [consumer]}


def produced(event_id: str, event_type: str, producer: str, at: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "topic": "order-events",
        "key": "42",
        "producer": producer,
        "occurred_at": at,
        "published_at": at,
        "trace_id": "ab" * 16,
    }


class FakeOps:
    """What each service answers, by path; ``silent`` services do not answer."""

    def __init__(self, silent: dict[str, str] | None = None) -> None:
        self.silent = silent or {}
        self.asked: list[tuple[str, Any]] = []

    async def each(self, path: str, *, params: Any = None, **_: Any) -> Answers:
        self.asked.append((path, params))
        if path == "/state":
            ok = {
                "dispatcher": state("dispatcher", "dispatcher", ["order.created"]),
                "orders": state("orders", "orders", ["order.dispatched"]),
            }
        elif path == "/events":
            ok = {
                "orders": [produced("a", "order.created", "orders", "2026-01-01T00:00:01Z")],
                "dispatcher": [
                    produced("b", "order.dispatched", "dispatcher", "2026-01-01T00:00:03Z")
                ],
            }
        else:
            ok = {"dispatcher": [{"event_id": "a", "consumer": "dispatcher", "applied_at": "x"}]}
        return Answers(ok=ok, failed=dict(self.silent))


async def test_the_story_orders_events_and_shows_a_hop_not_taken_as_missing() -> None:
    ops = FakeOps(silent={"payments": "payments: no answer"})
    story = await trace(ops, "order", "42")  # type: ignore[arg-type]

    assert [e.event["event_type"] for e in story.events] == ["order.created", "order.dispatched"]
    [created_hop] = story.events[0].hops
    assert (created_hop.consumer, created_hop.applied_at) == ("dispatcher", "x")
    [dispatched_hop] = story.events[1].hops
    assert dispatched_hop.missing
    assert ("/applied", [("event_id", "a"), ("event_id", "b")]) in ops.asked
    printed = render(story)
    assert "orders/orders: MISSING: not applied" in printed
    assert "payments did not answer" in printed


def test_an_event_is_about_a_subject_by_its_fields() -> None:
    order = {"id": 42, "customer_id": 7}
    assert is_about(order, "order.created", "order", "42")
    assert is_about(order, "order.created", "user", "7")  # the customer is a user
    assert not is_about(order, "order.created", "transaction", "42")
    assert not is_about({"id": 42}, "transaction.created", "order", "42")
    assert is_about({"order_id": 42}, "payment.authorized", "order", "42")
    assert is_about({"transaction_id": 9, "user_id": 3}, "transaction.created", "transaction", "9")


def test_the_trace_id_is_read_from_a_w3c_traceparent() -> None:
    assert trace_id_of("00-" + "ab" * 16 + "-" + "cd" * 8 + "-01") == "ab" * 16
    assert trace_id_of(None) is None
    assert trace_id_of("garbage") is None
