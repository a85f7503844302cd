"""DISPATCHER_* settings: defaults, webhook URL lists, and the secret production refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shopmesh.dispatcher.settings import DEV_WEBHOOK_SECRET, Settings

STRONG = "x" * 40
PRODUCTION = {
    "SHOPMESH_ENV": "production",
    "SHOPMESH_JWT_SECRET": STRONG,
    "SHOPMESH_REGISTRY_TOKEN": STRONG,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DISPATCHER_WEBHOOK_URLS",
        "DISPATCHER_WEBHOOK_SECRET",
        "DISPATCHER_HANDLING_DELAY",
        "SHOPMESH_ENV",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = Settings()
    assert (settings.service_name, settings.port) == ("dispatcher", 8087)
    assert settings.group_id == "dispatcher"
    assert settings.handling_delay == 10.0
    assert settings.webhook_urls == []
    assert settings.webhook_timeout == 5
    assert settings.webhook_backoff == 1
    assert settings.webhook_max_attempts == 5


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("http://a.example/hook, https://b.example:8443/x?y=1", None),
        ('["http://a.example/hook", "https://b.example:8443/x?y=1"]', None),
        ("", []),
    ],
)
def test_webhook_urls_are_a_comma_separated_or_json_list(
    monkeypatch: pytest.MonkeyPatch, value: str, urls: list[str] | None
) -> None:
    monkeypatch.setenv("DISPATCHER_WEBHOOK_URLS", value)
    expected = ["http://a.example/hook", "https://b.example:8443/x?y=1"] if urls is None else urls
    assert Settings().webhook_urls == expected


@pytest.mark.parametrize(
    "value",
    [
        "not a url",
        "ftp://a.example/x",
        '["http://ok.example", 3]',
        "[1",
        "http://a.example/" + "x" * 2000,
    ],
)
def test_invalid_webhook_urls_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DISPATCHER_WEBHOOK_URLS", value)
    with pytest.raises(ValidationError):
        Settings()


def test_a_refused_url_is_not_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCHER_WEBHOOK_URLS", "http://ok.example, ftp://user:hunter2@x/")
    with pytest.raises(ValidationError, match="URL #2") as refused:
        Settings()
    assert "hunter2" not in str(refused.value)


def test_a_handling_delay_of_zero_is_allowed_and_a_negative_one_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPATCHER_HANDLING_DELAY", "0")
    assert Settings().handling_delay == 0
    monkeypatch.setenv("DISPATCHER_HANDLING_DELAY", "-1")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("secret", [None, "change-me", "too-short-0123456789"])
def test_production_refuses_a_placeholder_webhook_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    if secret is not None:
        monkeypatch.setenv("DISPATCHER_WEBHOOK_SECRET", secret)
    with pytest.raises(ValidationError, match="DISPATCHER_WEBHOOK_SECRET"):
        Settings()


def test_production_accepts_a_real_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DISPATCHER_WEBHOOK_SECRET", "y" * 40)
    settings = Settings()
    assert settings.secrets()["DISPATCHER_WEBHOOK_SECRET"] == "y" * 40
    assert DEV_WEBHOOK_SECRET not in settings.secrets().values()
