"""Event contracts: what producers send is what consumers read, and the published document is true.

Services never import each other, so each consumer reads events with a model
of its own; these tests (which may import both sides) keep the two honest.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson

from shopmesh.analytics import domain as analytics
from shopmesh.catalog import PRODUCED, event_type_of, events_document
from shopmesh.dispatcher import domain as dispatcher
from shopmesh.orders import domain as orders
from shopmesh.payments import consumers as payments_reader
from shopmesh.payments.domain import (
    OrderCharge,
    TransactionCreated,
    TransactionsPaid,
    TransactionVoided,
)
from shopmesh.products import domain as products

DOCUMENT = Path(__file__).parents[1] / "docs" / "events.schema.json"
ENVELOPE = {"event_id", "event_type", "occurred_at", "producer"}


def wire(event: object) -> dict[str, object]:
    return orjson.loads(event.to_bytes())  # type: ignore[attr-defined]


def test_the_committed_event_document_matches_the_code() -> None:
    committed = json.loads(DOCUMENT.read_text())
    assert committed == json.loads(json.dumps(events_document())), (
        "docs/events.schema.json is stale: run `uv run shopmesh events > docs/events.schema.json`"
    )


def test_every_event_declares_the_envelope_and_its_topic() -> None:
    for event in PRODUCED:
        schema = event.wire_schema()
        assert set(schema["required"]) >= ENVELOPE, event_type_of(event)
        topics = {"transactions", "user-events", "order-events", "payment-events"}
        assert schema["x-topic"] in topics


def test_analytics_reads_transaction_created_as_payments_sends_it() -> None:
    sent = TransactionCreated(
        producer="payments",
        transaction_id=7,
        user_id=3,
        amount=Decimal("0.10"),
        description="tea",
        timestamp=datetime.now(UTC),
    )
    read = analytics.TransactionCreated.model_validate(wire(sent))
    assert (read.transaction_id, read.user_id, read.amount) == (7, 3, Decimal("0.10"))


def test_analytics_reads_transaction_paid_as_payments_sends_it() -> None:
    sent = TransactionsPaid(
        producer="payments", user_id=3, transactions_paid=4, timestamp=datetime.now(UTC)
    )
    read = analytics.TransactionPaid.model_validate(wire(sent))
    assert (read.user_id, read.transactions_paid) == (3, 4)


def _order_fields() -> dict[str, object]:
    return {
        "producer": "orders",
        "id": 11,
        "reference": str(uuid.uuid4()),
        "customer_id": 5,
        "product_id": 9,
        "quantity": 2,
        "per_cost": Decimal("19.99"),
        "total_cost": Decimal("39.98"),
        "currency": "USD",
        "created_at": datetime.now(UTC),
    }


def _created(*, payment_required: bool = True) -> orders.OrderCreated:
    return orders.OrderCreated(
        **_order_fields(),
        product_name="Oak board",
        checkout_id=str(uuid.uuid4()),
        payment_required=payment_required,
    )


def _paid() -> orders.OrderPaid:
    return orders.OrderPaid(**_order_fields(), updated_at=datetime.now(UTC), transaction_id=4)


def _declined() -> orders.OrderPaymentDeclined:
    fields = _order_fields()
    return orders.OrderPaymentDeclined(**fields, updated_at=datetime.now(UTC), reason="limit")


def _cancelled() -> orders.OrderCancelled:
    return orders.OrderCancelled(**_order_fields(), updated_at=datetime.now(UTC))


def test_the_dispatcher_reads_order_created_paid_and_cancelled_as_orders_sends_them() -> None:
    for sent in (_created(), _paid(), _cancelled()):
        read = dispatcher.OrderSnapshot.model_validate(wire(sent))
        assert (read.id, read.customer_id, read.total_cost) == (11, 5, Decimal("39.98"))
    for required in (True, False):
        read = dispatcher.OrderSnapshot.model_validate(wire(_created(payment_required=required)))
        assert read.payment_required is required


def test_products_reads_the_reservation_of_a_cancelled_or_declined_order() -> None:
    for sent in (_cancelled(), _declined()):
        read = products.OrderCancelled.model_validate(wire(sent))
        assert str(read.reference) == sent.reference


def test_payments_reads_the_order_to_charge_as_orders_sends_it() -> None:
    read = payments_reader.OrderNotice.model_validate(wire(_created()))
    assert read.payment_required
    assert read.charge() == OrderCharge(11, 5, Decimal("39.98"), "Oak board", 2)
    assert read.charge().description == "Order #11 (Oak board x2)"
    assert payments_reader.OrderNotice.model_validate(wire(_cancelled())).id == 11


def test_orders_reads_the_payments_outcomes_as_payments_sends_them() -> None:
    charge = OrderCharge(11, 5, Decimal("39.98"), "Oak board", 2)
    authorized = orders.PaymentNotice.model_validate(wire(charge.authorized(4)))
    declined = orders.PaymentNotice.model_validate(wire(charge.declined("limit_exceeded")))
    assert (authorized.order_id, authorized.transaction_id) == (11, 4)
    assert (declined.order_id, declined.reason) == (11, "limit_exceeded")


def test_analytics_reads_transaction_voided_as_payments_sends_it() -> None:
    sent = TransactionVoided(
        producer="payments",
        transaction_id=7,
        user_id=3,
        order_id=11,
        amount=Decimal("39.98"),
        was_paid=True,
        timestamp=datetime.now(UTC),
    )
    delta = analytics.TransactionVoided.model_validate(wire(sent)).delta()
    assert (delta.transactions, delta.amount, delta.paid_transactions) == (
        -1,
        Decimal("-39.98"),
        -1,
    )


def test_the_live_stream_reads_every_status_orders_announces() -> None:
    for sent in (_created(), _paid(), _declined(), _cancelled()):
        assert sent.event_type in orders.STATUS_EVENTS
        change = orders.StatusNotice.model_validate(wire(sent)).change()
        assert (change.order_id, change.status.value) == (11, sent.status)


def test_orders_reads_order_dispatched_as_the_dispatcher_sends_it() -> None:
    fields = _order_fields()
    for unused in ("per_cost", "currency"):
        fields.pop(unused)
    sent = dispatcher.OrderDispatched(
        **{**fields, "producer": "dispatcher"}, dispatched_at=datetime.now(UTC)
    )
    assert orders.DispatchedNotice.model_validate(wire(sent)).id == 11
    assert orders.StatusNotice.model_validate(wire(sent)).customer_id == 5
