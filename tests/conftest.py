"""Fixtures shared by every test: the test PostgreSQL and Kafka, fresh databases, app clients.

`make test` starts PostgreSQL and Kafka on ports of their own (see
scripts/test-infra.sh) and exports where they are; the defaults below match it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shopmesh.kit.kafka import kafka_reachable

# The platform fixtures (`platform`, `http`, `admin_token`...), shared by tests/system and
# tests/contracts so a session starts the platform once; and the order and grouping that
# keep the broker's tests apart, alone and under pytest-xdist.
pytest_plugins = ["tests.platform_fixtures", "tests.parallel"]

ADMIN_URL = os.environ.get(
    "SHOPMESH_TEST_DATABASE_ADMIN_URL", "postgresql+asyncpg://shopmesh@127.0.0.1:15432/postgres"
)
KAFKA_BOOTSTRAP = os.environ.get("SHOPMESH_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def kafka_bootstrap() -> str:
    """The test broker; the suite fails loudly (never skips) when it is not there."""
    if not await kafka_reachable(KAFKA_BOOTSTRAP, timeout=3):
        pytest.fail(f"test Kafka not reachable at {KAFKA_BOOTSTRAP}: run `make test`")
    return KAFKA_BOOTSTRAP


@pytest.fixture(scope="session")
async def postgres_admin() -> AsyncIterator[asyncpg.Connection]:
    try:
        connection = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"test PostgreSQL not reachable at {ADMIN_URL}: {exc}; run `make test`")
    yield connection
    await connection.close()


@asynccontextmanager
async def fresh_database(postgres_admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    await postgres_admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await postgres_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def postgres_url(postgres_admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    async with fresh_database(postgres_admin) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite database file for one test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind in turn: SQLite, then the test PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Random names so tests never depend on each other's data."""
    return lambda prefix="t": f"{prefix}{uuid.uuid4().hex[:10]}"


CONTAINERS = Path(__file__).resolve().parent / "containers"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--containers",
        action="store_true",
        help="run tests/containers (images and the compose stack: `make test-containers`)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/containers needs the images `make test-containers` builds: only it runs them."""
    if collection_path == CONTAINERS and not config.getoption("--containers"):
        return True
    return None
