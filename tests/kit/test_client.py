"""The service client against a small real HTTP service: answers, refusals, failures, identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import APIRouter, Request

from shopmesh.kit.app import ServiceCaller, create_service_app
from shopmesh.kit.client import ServiceClient, StaticResolver
from shopmesh.kit.errors import AppError, Conflict, ServiceUnavailable
from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.kit.logging import request_id_var, traceparent_var
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings
from tests.support import Running, free_port, serve

SECRET = "test-secret-0123456789-0123456789-abcdef"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def callee_app(name: str) -> Any:
    router = APIRouter()

    @router.get("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return {
            "instance": name,
            "request_id": request.headers.get("x-request-id"),
            "traceparent": request.headers.get("traceparent"),
        }

    @router.put("/things/{thing_id}")
    async def put_thing(thing_id: int) -> dict[str, Any]:
        return {"instance": name, "id": thing_id}

    @router.post("/things")
    async def create_thing(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("name") == "taken":
            raise Conflict("that thing exists", code="thing_taken", details={"name": "taken"})
        return {"instance": name, **body}

    @router.get("/internal")
    async def internal(caller: ServiceCaller) -> dict[str, Any]:
        return {"username": caller.username, "role": caller.role}

    @router.get("/broken")
    async def broken() -> None:
        raise AppError("database unavailable", status=503, code="service_unavailable")

    settings = ServiceSettings(service_name=name, jwt_secret=SECRET, kafka_enabled=False)
    return create_service_app(
        ServiceRuntime(settings, migrations=None), title=name, routers=[router]
    )


@pytest.fixture(scope="module")
async def callees() -> AsyncIterator[list[Running]]:
    started = [await serve(callee_app("first")), await serve(callee_app("second"))]
    yield started
    for running in started:
        await running.stop()


def client_for(*urls: str) -> ServiceClient:
    settings = ServiceSettings(service_name="caller", jwt_secret=SECRET, service_call_timeout=5)
    return ServiceClient(settings, StaticResolver({"things": list(urls)}))


@pytest.fixture
async def client(callees: list[Running]) -> AsyncIterator[ServiceClient]:
    service_client = client_for(callees[0].url)
    yield service_client
    await service_client.close()


async def test_a_json_answer_is_returned(client: ServiceClient) -> None:
    answer = await client.call("things", "POST", "/things", json={"name": "lamp"})
    assert answer == {"instance": "first", "name": "lamp"}


async def test_a_refusal_keeps_its_status_code_message_and_details(client: ServiceClient) -> None:
    with pytest.raises(AppError) as refused:
        await client.call("things", "POST", "/things", json={"name": "taken"})
    error = refused.value
    assert (error.status, error.code, error.message) == (409, "thing_taken", "that thing exists")
    assert error.details == {"name": "taken"}


async def test_a_failing_service_is_unavailable(client: ServiceClient) -> None:
    with pytest.raises(ServiceUnavailable) as failed:
        await client.call("things", "GET", "/broken")
    assert (failed.value.status, failed.value.code) == (503, "service_unavailable")


async def test_an_unreachable_service_is_unavailable() -> None:
    client = client_for(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(ServiceUnavailable) as failed:
            await client.call("things", "GET", "/echo")
        assert failed.value.status == 503
        with pytest.raises(ServiceUnavailable):
            await client.call("nothing", "GET", "/echo")  # no instance known at all
    finally:
        await client.close()


async def test_an_idempotent_call_is_retried_on_another_instance(callees: list[Running]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = client_for(dead, callees[1].url)
    try:
        # Turns alternate the first instance tried: both orders end on the live one.
        answers = [await client.call("things", "PUT", f"/things/{n}") for n in range(4)]
        assert [a["instance"] for a in answers] == ["second"] * 4
        forced = await client.call("things", "POST", "/things", json={}, idempotent=True)
        assert forced["instance"] == "second"
    finally:
        await client.close()


async def test_a_non_idempotent_call_is_not_retried(callees: list[Running]) -> None:
    client = client_for(f"http://127.0.0.1:{free_port()}", callees[1].url)
    try:
        with pytest.raises(ServiceUnavailable):
            await client.call("things", "POST", "/things", json={"name": "once"})
    finally:
        await client.close()


async def test_the_service_token_is_accepted_as_a_service_caller(client: ServiceClient) -> None:
    answer = await client.call("things", "GET", "/internal")
    assert answer == {"username": "caller", "role": "service"}


async def test_a_forwarded_user_token_is_not_a_service_caller(client: ServiceClient) -> None:
    user = issue_token(
        Principal(7, "ann"), secret=SECRET, issuer="shopmesh-auth", ttl=timedelta(minutes=5)
    )
    with pytest.raises(AppError) as refused:
        await client.call("things", "GET", "/internal", authorization=f"Bearer {user}")
    assert (refused.value.status, refused.value.code) == (403, "forbidden")


async def test_request_id_and_trace_context_travel_along(client: ServiceClient) -> None:
    request_token = request_id_var.set("req-abc-123")
    trace_token = traceparent_var.set(TRACEPARENT)
    try:
        answer = await client.call("things", "GET", "/echo")
    finally:
        request_id_var.reset(request_token)
        traceparent_var.reset(trace_token)
    assert answer["request_id"] == "req-abc-123"
    assert answer["traceparent"] == TRACEPARENT
