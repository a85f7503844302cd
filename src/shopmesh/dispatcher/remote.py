"""The orders service as the dispatcher calls it: the authority on whether an order may ship.

A cancel and a dispatch of one order are decided in one place, orders' conditional
UPDATE on the order row; the dispatcher asks before it ships and ships only what
orders confirmed (see :meth:`DispatchService.dispatch`).
"""

from __future__ import annotations

from collections.abc import Sequence

from shopmesh.dispatcher.domain import DispatchDecision
from shopmesh.kit.client import ServiceClient


class OrdersClient:
    """Orders' ``POST /api/orders/dispatches`` through the kit's client (a service token)."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def decide(self, order_ids: Sequence[int]) -> DispatchDecision:
        """Which of ``order_ids`` orders has marked Dispatched (ship them) and which it refused
        (cancelled first: never ship them). Raises ``ServiceUnavailable`` when orders cannot
        answer; asking again is safe (orders answers the same), so it is retried elsewhere."""
        answer = await self._client.call(
            "orders",
            "POST",
            "/api/orders/dispatches",
            json={"order_ids": list(order_ids)},
            idempotent=True,
        )
        return DispatchDecision.model_validate(answer)
