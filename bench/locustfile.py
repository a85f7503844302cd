"""What a real ShopMesh user does, as locust journeys (scenario 5 of `make bench`).

Each simulated user registers, then browses and searches the catalogue,
looks at products (the cart is the client's: the items it orders), places an
order and watches it reach Dispatched on the live stream, records and lists
transactions, pays them, and reads the stats. All through the gateway.

Run alone against a running platform:

    uv run --group bench locust -f bench/locustfile.py --host http://127.0.0.1:8080
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import orjson
from locust import HttpUser, between, task

SEARCHES = ("kettle", "lamp", "mug", "bench", "chair", "")


class Shopper(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        username = f"shopper-{uuid.uuid4().hex[:12]}"
        body = {"username": username, "password": "shopper-password-123"}
        with self.client.post("/auth/register", json=body, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"register: {response.status_code}")
                self.token = ""
            else:
                self.token = response.json()["token"]
        self.auth = {"Authorization": f"Bearer {self.token}"}
        self.client.post("/auth/login", json=body, name="/auth/login")
        self.product_ids = self._catalogue()

    def _catalogue(self) -> list[int]:
        response = self.client.get("/api/products?category=bench&limit=50", name="/api/products")
        if response.status_code != 200:
            return []
        return [int(product["id"]) for product in response.json()]

    @task(5)
    def browse(self) -> None:
        term = random.choice(SEARCHES)
        self.client.get(f"/api/products?q={term}&limit=10", name="/api/products?q=")
        self.client.get("/api/products/categories")

    @task(4)
    def view_product(self) -> None:
        if self.product_ids:
            product = random.choice(self.product_ids)
            self.client.get(f"/api/products/{product}", name="/api/products/{id}")

    @task(2)
    def order_and_watch(self) -> None:
        """Fill a cart from product pages, order it, watch it reach Dispatched live."""
        if not self.product_ids:
            return
        cart = random.sample(self.product_ids, k=min(2, len(self.product_ids)))
        for product in cart:
            self.client.get(f"/api/products/{product}", name="/api/products/{id}")
        items = [{"product_id": product, "quantity": 1} for product in cart]
        with self.client.get(
            "/api/orders/stream", headers=self.auth, stream=True, timeout=15, catch_response=True
        ) as stream:
            response = self.client.post("/api/orders", json={"items": items}, headers=self.auth)
            if response.status_code != 201:
                stream.success()
                return
            waiting = set(response.json()["order_ids"])
            self._wait_dispatched(stream, waiting)
        self.client.get("/api/orders", headers=self.auth)

    def _wait_dispatched(self, stream: Any, waiting: set[int]) -> None:
        deadline = time.monotonic() + 10
        for line in stream.iter_lines():
            if line.startswith(b"data:"):
                message = orjson.loads(line[5:])
                if message.get("status") == "Dispatched":
                    waiting.discard(int(message["order_id"]))
            if not waiting:
                stream.success()
                return
            if time.monotonic() > deadline:
                break
        stream.failure(f"orders {sorted(waiting)} not seen Dispatched on the stream")

    @task(4)
    def record_transaction(self) -> None:
        amount = round(random.uniform(0.5, 5.0), 2)
        body = {"amount": amount, "description": "groceries"}
        self.client.post("/payment/transactions", json=body, headers=self.auth)
        self.client.get("/payment/transactions/list", headers=self.auth)

    @task(1)
    def pay_all(self) -> None:
        self.client.get("/api/payments/summary", headers=self.auth)
        self.client.post("/payment/transactions/pay", headers=self.auth)

    @task(2)
    def read_stats(self) -> None:
        self.client.get("/analytics/stats")

    @task(1)
    def profile(self) -> None:
        self.client.get("/auth/me", headers=self.auth)
        self.client.get("/api/customers/me", headers=self.auth)
