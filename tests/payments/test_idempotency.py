"""Idempotency-Key over HTTP: a retry gets the first answer, marked replayed; a key reused for
another request is 422. (What a key decides is tested on the use cases, test_service.py.)"""

from __future__ import annotations

from .support import ALICE, Payments

REPLAYED = "Idempotent-Replayed"


async def test_retried_create_returns_the_first_answer_and_creates_nothing(
    payments: Payments,
) -> None:
    first = await payments.create(ALICE, 25.5, key="order-1", description="book")
    retry = await payments.create(ALICE, 25.50, key="order-1", description="book")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers
    counts = await payments.counts()
    assert counts["payment_transaction"] == 1
    assert counts["outbox_message"] == 1
    assert counts["idempotency_record"] == 1


async def test_same_key_with_a_different_body_is_refused(payments: Payments) -> None:
    await payments.create(ALICE, 10, key="k", description="a")
    for changed in ({"amount": 11, "description": "a"}, {"amount": 10, "description": "b"}):
        response = await payments.create(ALICE, key="k", **changed)
        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"
    assert (await payments.counts())["payment_transaction"] == 1


async def test_retried_pay_replays_and_pays_nothing_new(payments: Payments) -> None:
    await payments.create(ALICE, 1)
    await payments.create(ALICE, 2)
    first = await payments.pay(ALICE, key="pay-1")
    await payments.create(ALICE, 3)
    retry = await payments.pay(ALICE, key="pay-1")
    assert first.status_code == retry.status_code == 200
    assert (
        retry.json()
        == first.json()
        == {
            "message": "all transactions marked as paid",
            "transactions_paid": 2,
        }
    )
    assert retry.headers[REPLAYED] == "true"
    assert (await payments.list(ALICE)).json()[0]["is_paid"] is False
    paid_events = [e for e in await payments.events() if e["event_type"] == "transaction.paid"]
    assert len(paid_events) == 1
