"""ORDERS_* settings, and the platform-wide values orders takes from SHOPMESH_*."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shopmesh.orders.settings import Settings


def test_defaults_follow_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ORDERS_STREAM_KEEPALIVE",
        "ORDERS_PORT",
        "SHOPMESH_SERVICE_URLS",
        "ORDERS_REQUIRE_PAYMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.service_name, settings.port) == ("orders", 8086)
    assert settings.stream_keepalive == 15.0
    assert settings.group_id == "orders"
    assert settings.require_payment  # orders are paid before they are dispatched
    assert settings.service_urls["products"] == "http://127.0.0.1:8085"
    assert settings.service_urls["customers"] == "http://127.0.0.1:8084"


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_STREAM_KEEPALIVE", "2.5")
    monkeypatch.setenv("ORDERS_LOOKUP_TIMEOUT", "0.5")
    monkeypatch.setenv("SHOPMESH_SERVICE_URLS", '{"products": "http://products:8085"}')
    monkeypatch.setenv("ORDERS_REQUIRE_PAYMENT", "false")
    settings = Settings()
    assert not settings.require_payment
    assert settings.stream_keepalive == 2.5
    assert settings.lookup_timeout == 0.5
    assert settings.service_urls == {"products": "http://products:8085"}


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_keepalive_that_is_not_a_positive_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ORDERS_STREAM_KEEPALIVE", value)
    with pytest.raises(ValidationError):
        Settings()
