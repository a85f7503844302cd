import pytest
from pydantic import ValidationError

from shopmesh.kit.settings import ServiceSettings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SHOPMESH_JWT_SECRET"):
        ServiceSettings(environment="production")


def test_production_accepts_a_real_secret() -> None:
    settings = ServiceSettings(environment="production", jwt_secret="x" * 40)
    assert settings.is_production


def test_shared_settings_keep_their_platform_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMESH_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("SHOPMESH_DATABASE_URL_TEMPLATE", "postgresql+asyncpg://db/{service}")
    settings = ServiceSettings(service_name="orders")
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.db_url == "postgresql+asyncpg://db/orders"


def test_services_keep_their_connections_unless_told_to_overflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHOPMESH_DATABASE_MAX_OVERFLOW", raising=False)
    settings = ServiceSettings()
    assert (settings.database_pool_size, settings.database_max_overflow) == (20, 0)
    monkeypatch.setenv("SHOPMESH_DATABASE_MAX_OVERFLOW", "5")
    assert ServiceSettings().database_max_overflow == 5


def test_default_database_is_a_sqlite_file_per_service(tmp_path: object) -> None:
    settings = ServiceSettings(service_name="payments", data_dir=tmp_path)
    assert settings.db_url.startswith("sqlite+aiosqlite:///")
    assert settings.db_url.endswith("/payments.db")


def test_production_refuses_the_development_registry_token_when_a_registry_is_used() -> None:
    strong = "x" * 40
    with pytest.raises(ValidationError, match="SHOPMESH_REGISTRY_TOKEN"):
        ServiceSettings(environment="production", jwt_secret=strong, registry_url="http://r:9999")
    settings = ServiceSettings(
        environment="production",
        jwt_secret=strong,
        registry_url="http://r:9999",
        registry_token="y" * 40,
    )
    assert settings.registry_token == "y" * 40


def test_topic_replication_comes_from_the_platform_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings().kafka_replication == 1  # one local broker by default
    monkeypatch.setenv("SHOPMESH_KAFKA_REPLICATION", "3")
    assert ServiceSettings(service_name="payments").kafka_replication == 3
