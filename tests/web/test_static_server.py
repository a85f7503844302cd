"""The static server of the browser UI: files, caching, client-side routes, run-time config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shopmesh.web.app import StaticSite
from shopmesh.web.main import create_app
from shopmesh.web.settings import Settings

INDEX = (
    "<!doctype html><html><head><script src='/config.js'></script></head><body>app</body></html>"
)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-AbC123.js").write_text("console.log('app');")
    (root / "assets" / "index-AbC123.css").write_text("body{margin:0}")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("outside the dist folder")
    return root


async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        yield client


@pytest.fixture
async def web(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(Settings(dist_dir=dist, api_base="http://127.0.0.1:18080/")):
        yield client


async def test_root_serves_the_app_without_caching(web: httpx.AsyncClient) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "route", ["/orders", "/products/42", "/admin/webhooks", "/signin?next=/cart"]
)
async def test_client_side_routes_fall_back_to_the_app(web: httpx.AsyncClient, route: str) -> None:
    response = await web.get(route)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_cached_for_a_year_with_their_content_types(
    web: httpx.AsyncClient,
) -> None:
    script = await web.get("/assets/index-AbC123.js")
    style = await web.get("/assets/index-AbC123.css")
    assert script.status_code == style.status_code == 200
    assert script.text == "console.log('app');"
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    for response in (script, style):
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_other_files_get_their_type_and_a_short_cache(web: httpx.AsyncClient) -> None:
    response = await web.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "public, max-age=3600"


@pytest.mark.parametrize("path", ["/assets/index-gone.js", "/assets/nothing", "/robots.txt"])
async def test_missing_files_are_404_not_the_app(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert INDEX not in response.text


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"]
)
async def test_nothing_outside_the_dist_folder_is_served(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path)
    assert "outside the dist folder" not in response.text


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/assets/../../secret.txt", "/assets/../index.html/..", "/.env"]
)
def test_paths_leaving_the_dist_folder_resolve_to_no_file(dist: Path, path: str) -> None:
    # Clients normalise most dot segments themselves; the server must not rely on that.
    assert StaticSite(Settings(dist_dir=dist)).file_for(path) is None


def test_paths_inside_the_dist_folder_resolve_to_their_file(dist: Path) -> None:
    site = StaticSite(Settings(dist_dir=dist))
    assert site.file_for("/assets/index-AbC123.js") == dist.resolve() / "assets" / "index-AbC123.js"


async def test_config_js_names_the_configured_gateway(web: httpx.AsyncClient) -> None:
    response = await web.get("/config.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-store"
    assert response.text == 'window.SHOPMESH_CONFIG = {"apiBase": "http://127.0.0.1:18080"};\n'


async def test_config_js_leaves_the_default_to_the_page_when_unset(dist: Path) -> None:
    async for client in client_for(Settings(dist_dir=dist)):
        response = await client.get("/config.js")
        assert response.text == "window.SHOPMESH_CONFIG = {};\n"
        page = await client.get("/")
        # The app then calls the page's own host on port 8080 (the gateway's CORS default
        # admits localhost and 127.0.0.1): the policy allows both.
        policy = page.headers["content-security-policy"]
        assert "connect-src 'self' http://localhost:8080 http://127.0.0.1:8080;" in policy


@pytest.mark.parametrize("host", ["evil.example;script-src *", "evil.example", "[::1]"])
async def test_the_policy_never_copies_the_host_header(dist: Path, host: str) -> None:
    async for client in client_for(Settings(dist_dir=dist)):
        policy = (await client.get("/", headers={"Host": host})).headers["content-security-policy"]
        assert "evil" not in policy
        assert "[::1]" not in policy
        assert policy.count("script-src") == 1


async def test_the_page_may_call_the_configured_gateway(web: httpx.AsyncClient) -> None:
    policy = (await web.get("/cart")).headers["content-security-policy"]
    assert "connect-src 'self' http://127.0.0.1:18080;" in policy
    assert "script-src 'self'" in policy


def test_api_base_must_be_an_http_url(dist: Path) -> None:
    with pytest.raises(ValueError, match="http"):
        Settings(dist_dir=dist, api_base="javascript:alert(1)")


async def test_head_answers_without_a_body(web: httpx.AsyncClient) -> None:
    response = await web.head("/orders")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(INDEX))


async def test_writes_are_refused(web: httpx.AsyncClient) -> None:
    response = await web.post("/orders", json={})
    assert response.status_code == 405


async def test_health_and_ready(web: httpx.AsyncClient) -> None:
    assert (await web.get("/health")).json()["status"] == "ok"
    assert (await web.get("/ready")).status_code == 200


async def test_not_ready_until_the_app_is_built(tmp_path: Path) -> None:
    async for client in client_for(Settings(dist_dir=tmp_path / "empty")):
        assert (await client.get("/health")).status_code == 200
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["code"] == "not_ready"
        assert (await client.get("/")).status_code == 503


def test_settings_read_the_web_prefix(monkeypatch: pytest.MonkeyPatch, dist: Path) -> None:
    monkeypatch.setenv("WEB_PORT", "3999")
    monkeypatch.setenv("WEB_DIST_DIR", str(dist))
    monkeypatch.setenv("WEB_API_BASE", "https://api.example.org")
    settings = Settings()
    assert (settings.port, settings.dist, settings.api_base) == (
        3999,
        dist.resolve(),
        "https://api.example.org",
    )
    assert settings.service_name == "web"


def test_production_needs_no_secret_for_static_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMESH_ENV", "production")
    assert Settings().is_production
