"""Small fake products and customers services implementing the contracts orders relies on.

They run under uvicorn on loopback ports, so orders talks to them over real
HTTP through the kit's client, exactly as it talks to the real services.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shopmesh.kit.errors import Unauthorized
from shopmesh.kit.jwt import TokenVerifier
from tests.support import free_port


def closed_port_url() -> str:
    """A loopback URL nobody listens on: a service that is down."""
    return f"http://127.0.0.1:{free_port()}"


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A loopback URL that accepts connections and never answers: a service that hangs."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


def _error(status: int, message: str, code: str, details: Any = None) -> JSONResponse:
    body = {"error": message, "code": code, "request_id": None, "details": details}
    return JSONResponse(body, status_code=status)


@dataclass
class FakeProducts:
    """Products as its contract describes it: a catalogue, stock, reservations by id."""

    verifier: TokenVerifier
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    stock: dict[int, int] = field(default_factory=dict)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    callers: list[str] = field(default_factory=list)
    next_id: int = 1000

    def add(self, name: str, price: str, *, stock: int = 100, currency: str = "USD") -> int:
        """A new product; its id."""
        self.next_id += 1
        self.products[self.next_id] = {
            "id": self.next_id,
            "name": name,
            "price": float(Decimal(price)),
            "currency": currency,
            "active": True,
        }
        self.stock[self.next_id] = stock
        return self.next_id

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/products/reservations")
        async def reserve(request: Request) -> Any:
            self.calls["reserve"] += 1
            self._check_service_token(request)
            return self._reserve((await request.json())["lines"])

        @app.post("/api/products/reservations/{reservation_id}/release")
        async def release(reservation_id: str, request: Request) -> Any:
            self.calls["release"] += 1
            self._check_service_token(request)
            self.released.append(reservation_id)
            line = self.reservations.pop(reservation_id, None)
            if line is not None:
                self.stock[line["product_id"]] += line["quantity"]
            return {"released": line is not None}

        @app.get("/api/products")
        async def by_ids(ids: str, include_inactive: bool = False) -> Any:
            self.calls["list"] += 1
            wanted = [int(i) for i in ids.split(",")]
            found = [self.products[i] for i in wanted if i in self.products]
            return [p for p in found if p["active"] or include_inactive]

        @app.exception_handler(Unauthorized)
        async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
            return _error(401, exc.message, exc.code)

        return app

    def _check_service_token(self, request: Request) -> None:
        principal = self.verifier.verify_header(request.headers.get("authorization"))
        self.callers.append(principal.role)

    def _reserve(self, lines: list[dict[str, Any]]) -> Any:
        new = [line for line in lines if line["reservation_id"] not in self.reservations]
        unknown = sorted({line["product_id"] for line in new} - set(self.products))
        if unknown:
            return _error(404, "product not found", "product_not_found", {"product_ids": unknown})
        wanted: Counter[int] = Counter()
        for line in new:
            wanted[line["product_id"]] += line["quantity"]
        short = [
            {"product_id": pid, "requested": n, "available": self.stock[pid]}
            for pid, n in wanted.items()
            if n > self.stock[pid]
        ]
        if short:
            return _error(409, "not enough stock", "out_of_stock", short)
        for line in new:
            self.stock[line["product_id"]] -= line["quantity"]
            product = self.products[line["product_id"]]
            self.reservations[line["reservation_id"]] = {
                **line,
                "unit_price": product["price"],
                "currency": product["currency"],
                "name": product["name"],
            }
        return {"lines": [self.reservations[line["reservation_id"]] for line in lines]}


@dataclass
class FakeCustomers:
    """Customers' ``/me``: the profile of whoever's token comes with the request."""

    verifier: TokenVerifier
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    authorizations: list[str] = field(default_factory=list)

    def add(self, user_id: int, name: str) -> dict[str, Any]:
        profile = {"id": user_id + 7, "user_id": user_id, "name": name, "email": f"{name}@x.io"}
        self.profiles[user_id] = profile
        return profile

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/customers/me")
        async def me(request: Request) -> Any:
            self.calls["me"] += 1
            header = request.headers.get("authorization", "")
            self.authorizations.append(header)
            try:
                principal = self.verifier.verify_header(header)
            except Unauthorized as exc:
                return _error(401, exc.message, exc.code)
            profile = self.profiles.get(principal.user_id)
            if profile is None:
                return _error(404, "customer not found", "customer_not_found")
            return profile

        return app
