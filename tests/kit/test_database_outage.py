"""A database outage is a clean 503, whatever shape the driver's error takes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.exc import DBAPIError

from shopmesh.kit.app import create_service_app
from shopmesh.kit.db import is_transient_db_error
from shopmesh.kit.runtime import ServiceRuntime
from shopmesh.kit.settings import ServiceSettings


class DriverError(Exception):
    """Stands in for the asyncpg adapter's error: it carries the server's SQLSTATE."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(orig: Exception) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig)


def reset_by_peer() -> DBAPIError:
    orig = DriverError("connection lost")
    orig.__cause__ = ConnectionResetError(104, "Connection reset by peer")
    return wrapped(orig)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(DriverError("terminating connection due to administrator command", "57P01")),
        wrapped(DriverError("the database system is starting up", "57P03")),
        wrapped(DriverError("connection failure", "08006")),
        reset_by_peer(),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_a_server_going_away_is_transient(error: Exception) -> None:
    assert is_transient_db_error(error)


def test_a_statement_error_is_not_transient() -> None:
    assert not is_transient_db_error(wrapped(DriverError("duplicate key", "23505")))


ERRORS: dict[str, Exception] = {
    "shutdown": wrapped(DriverError("terminating connection", "57P01")),
    "refused": ConnectionRefusedError(111, "Connection refused"),
    "statement": wrapped(DriverError("duplicate key", "23505")),
}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter()

    @router.get("/fail/{kind}")
    async def fail(kind: str) -> None:
        raise ERRORS[kind]

    settings = ServiceSettings(service_name="sample", kafka_enabled=False)
    app = create_service_app(
        ServiceRuntime(settings, migrations=None, register=False), title="sample", routers=[router]
    )
    # raise_app_exceptions: an error that escapes the app (and makes uvicorn log a
    # trace and drop the connection) fails the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize("kind", ["shutdown", "refused"])
async def test_an_outage_is_a_json_503_and_nothing_escapes_the_app(
    client: httpx.AsyncClient, kind: str
) -> None:
    response = await client.get(f"/fail/{kind}")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert "Traceback" not in response.text


async def test_a_statement_error_is_a_json_500_without_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/fail/statement")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "duplicate" not in response.text
