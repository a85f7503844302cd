"""PAYMENTS_* settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shopmesh.payments.domain import LimitPolicy, LimitScope
from shopmesh.payments.settings import Settings


def test_defaults_are_the_seeds_limit_over_all_transactions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAYMENTS_LIMIT", raising=False)
    monkeypatch.delenv("PAYMENTS_LIMIT_SCOPE", raising=False)
    settings = Settings()
    assert settings.port == 8082
    assert settings.service_name == "payments"
    assert settings.limit_policy() == LimitPolicy(Decimal("1000.00"), LimitScope.ALL)


def test_limit_and_scope_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENTS_LIMIT", "250.50")
    monkeypatch.setenv("PAYMENTS_LIMIT_SCOPE", "unpaid")
    settings = Settings()
    assert settings.limit == Decimal("250.50")
    assert isinstance(settings.limit, Decimal)
    assert settings.limit_scope is LimitScope.UNPAID


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAYMENTS_LIMIT", "0"),
        ("PAYMENTS_LIMIT", "-5"),
        ("PAYMENTS_LIMIT", "1.001"),
        ("PAYMENTS_LIMIT", "lots"),
        ("PAYMENTS_LIMIT_SCOPE", "paid"),
    ],
)
def test_invalid_limit_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
