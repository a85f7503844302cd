"""Pure rules: the signature scheme, the retry schedule, what an order event must carry."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from shopmesh.dispatcher.domain import (
    OrderDispatched,
    OrderSnapshot,
    Shipment,
    ShipmentStatus,
    retry_delay,
    sign,
)

from .support import make_order

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    body = b'{"id":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", timestamp=1700000000, body=body) == f"sha256={expected}"
    assert sign("s3cret", timestamp=1700000001, body=body) != f"sha256={expected}"
    assert sign("other", timestamp=1700000000, body=body) != f"sha256={expected}"


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    delays = [retry_delay(n, base=1, cap=10) for n in range(1, 7)]
    assert delays == [1, 2, 4, 8, 10, 10]
    assert retry_delay(10_000, base=0.5, cap=60) == 60
    assert retry_delay(1, base=0, cap=60) == 0


def test_an_order_event_is_read_with_exact_money_and_utc_times() -> None:
    order = make_order(total_cost=0.1, created_at="2025-03-01T13:00:00+01:00")
    snapshot = OrderSnapshot.model_validate(orjson.loads(orjson.dumps(order)))
    assert snapshot.total_cost == Decimal("0.1")
    assert snapshot.created_at == T0
    naive = OrderSnapshot.model_validate({**order, "created_at": "2025-03-01T12:00:00"})
    assert naive.created_at == T0


def _shipment(**overrides: object) -> Shipment:
    values: dict[str, object] = {
        "id": 1,
        "order_id": 42,
        "reference": "6c1f7f2e-0000-4000-8000-000000000000",
        "customer_id": 7,
        "product_id": 3,
        "quantity": 2,
        "total_cost": Decimal("19.98"),
        "status": ShipmentStatus.DISPATCHED,
        "ordered_at": T0,
        "created_at": T0,
        "due_at": T0,
        "dispatched_at": T0 + timedelta(seconds=1),
    }
    return Shipment(**(values | overrides))  # type: ignore[arg-type]


def test_the_dispatched_event_carries_the_contract_fields() -> None:
    event = OrderDispatched.of(_shipment())
    wire = orjson.loads(event.to_bytes())
    assert event.key() == "42"
    assert wire["event_type"] == "order.dispatched"
    assert wire["producer"] == "dispatcher"
    assert wire["status"] == "Dispatched"
    assert wire["total_cost"] == 19.98
    assert (wire["id"], wire["customer_id"], wire["product_id"], wire["quantity"]) == (42, 7, 3, 2)
    assert datetime.fromisoformat(wire["created_at"]) == T0
    body = orjson.loads(event.webhook_body())
    assert body == {
        k: wire[k]
        for k in (
            "id",
            "reference",
            "customer_id",
            "product_id",
            "quantity",
            "total_cost",
            "status",
            "created_at",
            "dispatched_at",
            "event_id",
        )
    }


def test_a_shipment_not_dispatched_has_no_dispatched_event() -> None:
    with pytest.raises(ValueError, match="not dispatched"):
        OrderDispatched.of(_shipment(dispatched_at=None, status=ShipmentStatus.PENDING))


def test_timezones_other_than_utc_are_converted() -> None:
    later = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    order = {**make_order(), "created_at": later.isoformat()}
    assert OrderSnapshot.model_validate(order).created_at.utcoffset() == timedelta(0)
