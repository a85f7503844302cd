"""Route table loading and matching, settings parsing, upstream picking (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmesh.gateway.routing import (
    Policy,
    Route,
    RouteConfigError,
    RouteTable,
    has_dot_segment,
)
from shopmesh.gateway.settings import DEFAULT_ROUTES_FILE, GatewaySettings
from shopmesh.gateway.upstreams import Upstreams
from shopmesh.kit.settings import DEFAULT_SERVICE_URLS


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable.load(DEFAULT_ROUTES_FILE)


@pytest.mark.parametrize(
    ("path", "prefix", "upstream_path"),
    [
        ("/auth/me", "/auth/me", "/api/auth/me"),
        ("/auth/me/sessions", "/auth/me", "/api/auth/me/sessions"),
        ("/auth/meow", "/auth/", "/api/auth/meow"),
        ("/auth/login", "/auth/login", "/api/auth/login"),
        ("/auth/register", "/auth/register", "/api/auth/register"),
        ("/api/auth/register", "/api/auth/register", "/api/auth/register"),
        ("/auth/forgot-password", "/auth/forgot-password", "/api/auth/forgot-password"),
        ("/api/forgot-password", "/api/forgot-password", "/api/auth/forgot-password"),
        ("/api/auth/reset-password", "/api/auth/reset-password", "/api/auth/reset-password"),
        ("/api/auth/me", "/api/auth/me", "/api/auth/me"),
        ("/api/auth/login", "/api/auth/login", "/api/auth/login"),
        ("/payment/transactions/list", "/payment/", "/api/payments/transactions/list"),
        ("/api/payments/transactions", "/api/payments/", "/api/payments/transactions"),
        ("/analytics/stats", "/analytics/stats", "/api/analytics/stats"),
        ("/analytics/events", "/analytics/", "/api/analytics/events"),
        ("/api/analytics/stats", "/api/analytics/stats", "/api/analytics/stats"),
        ("/api/analytics/users", "/api/analytics/", "/api/analytics/users"),
        ("/api/customers", "/api/customers", "/api/customers"),
        ("/api/customers/me", "/api/customers", "/api/customers/me"),
        ("/api/products", "/api/products", "/api/products"),
        ("/api/products/reservations", "/api/products", "/api/products/reservations"),
        ("/api/orders", "/api/orders", "/api/orders"),
        ("/api/orders/", "/api/orders", "/api/orders/"),
        ("/api/orders/123/cancel", "/api/orders", "/api/orders/123/cancel"),
        ("/api/orders/stream", "/api/orders", "/api/orders/stream"),
        ("/api/dispatcher/webhooks", "/api/dispatcher", "/api/dispatcher/webhooks"),
    ],
)
def test_longest_matching_prefix_wins_and_is_rewritten(
    table: RouteTable, path: str, prefix: str, upstream_path: str
) -> None:
    route = table.match(path)
    assert route is not None
    assert route.prefix == prefix
    assert route.upstream_path(path) == upstream_path


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/payment",
        "/nowhere/x",
        "/api",
        "/authx",
        "/api/ordersx",
        "/api/productsx/1",
        "/api/registry",
        "/api/registry/services",
        "/registry/services",
    ],
)
def test_paths_outside_every_prefix_have_no_route(table: RouteTable, path: str) -> None:
    assert table.match(path) is None


def test_policies_come_from_the_table(table: RouteTable) -> None:
    expected = {
        "/auth/me": Policy.USER,
        "/auth/x": Policy.PUBLIC,
        "/analytics/x": Policy.ADMIN,
        "/api/customers/me": Policy.USER,
        "/api/products/7": Policy.PUBLIC,
        "/api/orders": Policy.USER,
        "/api/dispatcher/x": Policy.ADMIN,
    }
    for path, policy in expected.items():
        route = table.match(path)
        assert route is not None
        assert route.policy is policy
    login = table.match("/auth/login")
    assert login is not None
    assert login.limit == "login"


def test_password_reset_routes_have_the_login_limit(table: RouteTable) -> None:
    for path in ("/api/forgot-password", "/api/auth/forgot-password", "/auth/reset-password"):
        route = table.match(path)
        assert route is not None
        assert route.limit == "login"


def test_route_without_trailing_slash_respects_segment_boundaries() -> None:
    route = Route(prefix="/auth/me", service="auth", policy=Policy.USER, rewrite="/api/auth/me")
    assert route.matches("/auth/me")
    assert route.matches("/auth/me/")
    assert not route.matches("/auth/meow")


def test_route_table_refuses_unknown_policy(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text('[[route]]\nprefix = "/x/"\nservice = "auth"\npolicy = "everyone"\n')
    with pytest.raises(RouteConfigError, match="unknown policy"):
        RouteTable.load(routes)


def test_route_table_refuses_unknown_keys_and_relative_prefixes(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text('[[route]]\nprefix = "/x/"\nservice = "auth"\nrewite = "/y/"\n')
    with pytest.raises(RouteConfigError, match="unknown keys"):
        RouteTable.load(routes)
    routes.write_text('[[route]]\nprefix = "x/"\nservice = "auth"\n')
    with pytest.raises(RouteConfigError, match="must start with"):
        RouteTable.load(routes)


def test_route_without_policy_needs_a_user(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text('[[route]]\nprefix = "/x/"\nservice = "auth"\ntimeout = 2\n')
    route = RouteTable.load(routes).match("/x/y")
    assert route is not None
    assert route.policy is Policy.USER
    assert route.timeout == 2.0


@pytest.mark.parametrize(
    ("path", "dotted"),
    [("/payment/../api/analytics/x", True), ("/a/./b", True), ("/a/..", True), ("/a/.well", False)],
)
def test_dot_segments_are_detected(path: str, dotted: bool) -> None:
    assert has_dot_segment(path) is dotted


def test_upstreams_are_picked_in_turn() -> None:
    upstreams = Upstreams({"auth": ["http://a:1/", "http://b:2"], "none": []})
    assert [upstreams.pick("auth") for _ in range(3)] == ["http://a:1", "http://b:2", "http://a:1"]
    assert upstreams.pick("none") is None
    assert upstreams.pick("unknown") is None


def test_settings_read_upstreams_as_json_and_origins_as_a_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_UPSTREAMS", '{"auth": "http://10.0.0.1:8081/", "x": ["http://y"]}')
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://shop.example, http://localhost:3000/")
    monkeypatch.setenv("SHOPMESH_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_LOGIN", "5/minute")
    settings = GatewaySettings()
    assert settings.upstreams == {"auth": ["http://10.0.0.1:8081"], "x": ["http://y"]}
    assert settings.cors_origins == ["https://shop.example", "http://localhost:3000"]
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.rate_limit_login == "5/minute"
    assert settings.port == 8080


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GATEWAY_UPSTREAMS",
        "GATEWAY_CORS_ORIGINS",
        "SHOPMESH_REDIS_URL",
        "SHOPMESH_SERVICE_URLS",
        "SHOPMESH_REGISTRY_URL",
        "GATEWAY_REGISTRY_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = GatewaySettings()
    expected = {
        name: [url]
        for name, url in DEFAULT_SERVICE_URLS.items()
        if name not in {"gateway", "registry"}
    }
    assert settings.upstreams == expected
    assert settings.upstreams["payments"] == ["http://127.0.0.1:8082"]
    assert settings.registry_url is None
    # The web UI's port, and 4200 where the commerce seed's app is served.
    assert settings.cors_origins == [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
        "http://localhost:4200",
        "http://127.0.0.1:4200",
    ]
    assert settings.redis_url is None
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.routes_file == DEFAULT_ROUTES_FILE


def test_static_upstreams_follow_the_platform_service_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GATEWAY_UPSTREAMS", raising=False)
    monkeypatch.setenv(
        "SHOPMESH_SERVICE_URLS",
        '{"orders": "http://orders:8086/", "registry": "http://registry:9999"}',
    )
    assert GatewaySettings().upstreams == {"orders": ["http://orders:8086"]}


def test_the_gateway_registry_url_wins_over_the_platform_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPMESH_REGISTRY_URL", "http://registry:9999")
    assert GatewaySettings().registry_url == "http://registry:9999"
    monkeypatch.setenv("GATEWAY_REGISTRY_URL", "http://other-registry:9999")
    assert GatewaySettings().registry_url == "http://other-registry:9999"


def test_settings_refuse_a_malformed_rate_limit() -> None:
    with pytest.raises(ValueError, match="rate_limit_ip"):
        GatewaySettings(rate_limit_ip="lots")
