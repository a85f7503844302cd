"""Races on SQLite and PostgreSQL: cancel and the dispatcher's question never both win; one
key, one order set."""

from __future__ import annotations

import asyncio

from .support import ALICE, Fakes, Orders, auth


async def test_a_cancel_racing_the_dispatchers_question_has_one_winner_and_its_answer_says_so(
    service: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00", stock=1000)
    placed = [await service.place_one(ALICE, tea) for _ in range(10)]
    ids = [order["id"] for order in placed]

    *cancels, asked = await asyncio.gather(
        *(service.cancel(ALICE, order_id) for order_id in ids), service.ask_to_dispatch(*ids)
    )

    answer = asked.json()
    assert asked.status_code == 200, answer
    assert sorted(answer["dispatched"] + answer["refused"]) == sorted(ids)
    for order_id, cancel in zip(ids, cancels, strict=True):
        final = (await service.get(ALICE, order_id)).json()["status"]
        if order_id in answer["dispatched"]:
            assert (final, cancel.status_code) == ("Dispatched", 409)
        else:
            assert (final, cancel.status_code) == ("Cancelled", 200)


async def test_concurrent_requests_with_one_key_create_one_set_of_orders(
    service: Orders, fakes: Fakes
) -> None:
    tea = fakes.products.add("Tea", "1.00", stock=100)
    body = [{"product_id": tea, "quantity": 2}, {"product_id": tea, "quantity": 3}]
    headers = auth(ALICE, **{"Idempotency-Key": "cart-1"})

    responses = await asyncio.gather(
        *(service.client.post("/api/orders", json=body, headers=headers) for _ in range(4))
    )

    assert [r.status_code for r in responses] == [201] * 4
    answers = [r.json()["order_ids"] for r in responses]
    assert all(answer == answers[0] for answer in answers)
    assert (await service.counts())["customer_order"] == 2
    # Whatever the losers reserved went back: only the winner's 5 units stay held.
    assert fakes.products.stock[tea] == 95
    assert len(fakes.products.reservations) == 2
