"""The edges every service gets from the app factory, on a sample service."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from shopmesh.kit.app import create_service_app
from shopmesh.kit.jwt import Principal, issue_token
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings
from tests.kit.sample import MIGRATIONS, SECRET, router, sample_app
from tests.support import serve_in_process

TOKEN = issue_token(Principal(5, "ada"), secret=SECRET, issuer="shopmesh-auth", ttl=timedelta(1))
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture
async def client(sqlite_url: str):
    async with serve_in_process(sample_app(sqlite_url, kafka_enabled=False)) as client:
        yield client


async def test_health_ready_and_metrics(client) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True}
    await client.post("/notes", json={"body": "hello"}, headers=AUTH)
    metrics = (await client.get("/metrics")).text
    assert 'shopmesh_http_requests_total{method="POST",route="/notes",service="sample"' in metrics


async def test_success_writes_the_event_to_the_outbox_in_the_same_transaction(
    client, sqlite_url: str
) -> None:
    response = await client.post("/notes", json={"body": "hello"}, headers=AUTH)
    assert response.status_code == 201
    assert response.json() == {"body": "hello", "user_id": 5}
    runtime = client._transport.app.runtime
    async with runtime.db.engine.begin() as session:
        rows = (await session.execute(text("SELECT event_type, key FROM outbox_message"))).all()
    assert [tuple(r) for r in rows] == [("note.written", "hello")]


async def test_request_id_is_generated_or_kept(client) -> None:
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/health", headers={"X-Request-ID": "<script>"})
    assert unsafe.headers["x-request-id"] != "<script>"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"body": "x"}}, 401, "unauthorized"),
        (
            {"json": {"body": "x"}, "headers": {"Authorization": "Bearer nope"}},
            401,
            "invalid_token",
        ),
        ({"json": {"body": ""}, "headers": AUTH}, 422, "validation_error"),
        ({"json": {"body": 12}, "headers": AUTH}, 422, "validation_error"),
        ({"json": {}, "headers": AUTH}, 422, "validation_error"),
        ({"json": ["body"], "headers": AUTH}, 422, "validation_error"),
        (
            {"content": b"{oops", "headers": {**AUTH, "Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        ({"json": {"body": "taken"}, "headers": AUTH}, 409, "note_taken"),
        ({"content": b"x" * (1024 * 1024 + 1), "headers": AUTH}, 413, "payload_too_large"),
        (
            {"content": b"[" * 100_000 + b"]" * 100_000, "headers": JSON_AUTH},
            422,
            "validation_error",
        ),
        (
            {"content": b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "headers": JSON_AUTH},
            422,
            "validation_error",
        ),
    ],
)
async def test_errors_have_one_json_shape_and_write_nothing(
    client, kwargs: dict, status: int, code: str
) -> None:
    response = await client.post("/notes", **kwargs)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["message"] == body["error"]  # the commerce seed's client reads message
    assert body["request_id"] == response.headers["x-request-id"]
    runtime = client._transport.app.runtime
    async with runtime.db.engine.begin() as session:
        assert (await session.execute(text("SELECT count(*) FROM outbox_message"))).scalar() == 0


async def test_validation_errors_say_which_field(client) -> None:
    body = (await client.post("/notes", json={"body": ""}, headers=AUTH)).json()
    assert body["error"].startswith("body: ")
    assert body["details"][0]["loc"] == ["body", "body"]


async def test_a_body_that_is_not_a_json_object_says_so(client) -> None:
    response = await client.post(
        "/notes",
        content=b"body=x",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert response.json()["error"].startswith("request body must be a JSON object")


async def test_unknown_route_and_method_are_json(client) -> None:
    missing = await client.get("/nowhere")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = await client.get("/notes")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")


async def test_migrations_are_idempotent_across_restarts(sqlite_url: str) -> None:
    for _ in range(2):
        async with serve_in_process(sample_app(sqlite_url, kafka_enabled=False)) as client:
            assert (await client.get("/ready")).status_code == 200


def test_an_app_whose_routes_use_a_dependency_it_was_not_given_is_refused(
    sqlite_url: str,
) -> None:
    settings = ServiceSettings(service_name="sample", database_url=sqlite_url, jwt_secret=SECRET)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS)
    with pytest.raises(RuntimeError, match=r"'notes'.* main\.py did not provide it"):
        create_service_app(runtime, title="sample", routers=[router])
