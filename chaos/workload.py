"""The load a fault scenario drives, and the ledger check of what it was told."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from chaos.checks import check_orders, check_payments
from chaos.ledger import Findings
from chaos.load import Api, Tally, User, add_products, login, register_users, wait_for_profiles
from harness.platform import LocalPlatform


class Workload:
    """Charges (and optionally orders) through the gateway, remembering what was acknowledged."""

    def __init__(self, api: Api, users: list[User], products: list[int] | None = None) -> None:
        self.api = api
        self.users = users
        self.products = products or []
        self.charges: dict[str, int] = {}  # description -> transaction id
        self.orders: dict[str, int] = {}  # idempotency key -> order id
        self.pays: list[int] = []  # transactions_paid of each acknowledged pay-all
        self.run = uuid.uuid4().hex[:6]

    async def charge(self, i: int, *, retry_for: float = 0.0) -> None:
        user = self.users[i % len(self.users)]
        description = f"chaos-{self.run}-{i}"
        amount = 1 + (i % 7) * 0.25
        status, body = await self.api.call(
            "POST",
            "/payment/transactions",
            user.token,
            json={"amount": amount, "description": description},
            key=str(uuid.uuid4()),
            retry_for=retry_for,
        )
        if status == 201:
            self.charges[description] = int(body["id"])

    async def pay(self, i: int, *, retry_for: float = 0.0) -> None:
        """Pay-all for one user (a ``transaction.paid`` event when something was unpaid)."""
        # i // 7: pay-alls come at fixed strides of i; this spreads them over the users.
        user = self.users[(i // 7) % len(self.users)]
        status, body = await self.api.call(
            "POST",
            "/payment/transactions/pay",
            user.token,
            key=str(uuid.uuid4()),
            retry_for=retry_for,
        )
        if status == 200:
            self.pays.append(int(body["transactions_paid"]))

    async def charge_or_pay(self, i: int, *, retry_for: float = 0.0) -> None:
        """Charges, every 40th request a pay-all."""
        if i % 40 == 39:
            await self.pay(i, retry_for=retry_for)
        else:
            await self.charge(i, retry_for=retry_for)

    async def order(self, i: int) -> None:
        user = self.users[i % len(self.users)]
        key = str(uuid.uuid4())
        product = self.products[i % len(self.products)]
        status, body = await self.api.call(
            "POST", "/api/orders", user.token, json={"product_id": product, "quantity": 1}, key=key
        )
        if status == 201:
            self.orders[key] = int(body["id"])

    async def read(self, i: int) -> None:
        user = self.users[i % len(self.users)]
        path = "/payment/transactions/list?limit=5" if i % 2 else "/api/orders?limit=5"
        await self.api.call("GET", path, user.token)

    async def mixed(self, i: int) -> None:
        """Charges, orders and reads in turn (orders only when there are products)."""
        kind = i % 4
        if i % 40 == 39:
            await self.pay(i)
        elif kind == 0 or (kind == 1 and not self.products):
            await self.charge(i)
        elif kind == 1:
            await self.order(i)
        else:
            await self.read(i)


async def check_ledger(
    platform: LocalPlatform,
    findings: Findings,
    work: Workload,
    *,
    bootstrap: str,
    orders: bool = False,
) -> None:
    """The payments (and orders) ledger of what ``work`` was told."""
    await check_payments(platform, findings, acked=work.charges, bootstrap=bootstrap)
    findings.figures["pay_alls_acked"] = len(work.pays)
    if orders:
        await check_orders(platform, findings, acked=work.orders)


async def setup(api: Api, platform: LocalPlatform, *, users: int, products: int) -> Workload:
    people = await register_users(api, users, run=uuid.uuid4().hex[:6])
    items: list[int] = []
    if products:
        admin = await login(api, *platform.admin)
        items = await add_products(api, admin, products)
        await wait_for_profiles(api, people)
    return Workload(api, people, items)


async def for_a_while(
    request: Callable[[int], Awaitable[None]], concurrency: int, stop: asyncio.Event
) -> None:
    """Send requests until ``stop`` is set."""
    counter = iter(range(10**9))

    async def worker() -> None:
        for i in counter:
            if stop.is_set():
                return
            await request(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def seconds_of_load(tally: Tally, seconds: float) -> None:
    """Let load run for ``seconds`` (the load is the point of the wait, not a condition)."""
    await asyncio.sleep(seconds)
