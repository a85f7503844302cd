"""Products settings: its own prefix, the platform's shared values, the consumer's group."""

from __future__ import annotations

import pytest

from shopmesh.products.main import create_app
from shopmesh.products.settings import Settings


def test_defaults_follow_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PRODUCTS_PORT", "PRODUCTS_GROUP_ID", "PRODUCTS_ORDER_EVENTS_TOPIC"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.service_name, settings.port) == ("products", 8085)
    assert (settings.order_events_topic, settings.group_id) == ("order-events", "products")


def test_environment_configures_port_group_and_shared_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODUCTS_PORT", "9185")
    monkeypatch.setenv("PRODUCTS_GROUP_ID", "products-blue")
    monkeypatch.setenv("SHOPMESH_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("SHOPMESH_DATABASE_URL_TEMPLATE", "postgresql+asyncpg://db/{service}")
    settings = Settings()
    assert (settings.port, settings.group_id) == (9185, "products-blue")
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.db_url == "postgresql+asyncpg://db/products"


def test_production_refuses_the_development_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPMESH_JWT_SECRET", raising=False)
    with pytest.raises(ValueError, match="SHOPMESH_JWT_SECRET"):
        Settings(environment="production")


def test_creating_the_app_connects_to_nothing() -> None:
    settings = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    assert app.fastapi.title == "ShopMesh products"
