"""The static server sends the build's precompressed copies and says how they vary."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from shopmesh.web.encoding import accepted_encodings
from shopmesh.web.main import create_app
from shopmesh.web.settings import Settings
from tests.support import serve

SCRIPT = ("export const greeting = 'hello';\n" * 200).encode()
INDEX = b"<!doctype html><html><body>" + b"<p>app</p>" * 200 + b"</body></html>"
# Not real brotli (the standard library has no encoder): the server only picks files,
# and Chromium decodes the real build's copies in tests/system/ui.
FAKE_BR = b"brotli bytes of the script"
BROWSER = "gzip, deflate, br, zstd"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    script = root / "assets" / "index-AbC123.js"
    script.write_bytes(SCRIPT)
    (root / "assets" / "index-AbC123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "assets" / "index-AbC123.js.br").write_bytes(FAKE_BR)
    (root / "assets" / "index-AbC123.js.map").write_text('{"sources": ["src/App.tsx"]}')
    (root / "assets" / "small-XyZ.css").write_text("body{margin:0}")
    (root / "index.html").write_bytes(INDEX)
    (root / "index.html.gz").write_bytes(gzip.compress(INDEX))
    return root


@pytest.fixture
async def web(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(Settings(dist_dir=dist)))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        yield client


async def test_a_browser_gets_the_brotli_copy_of_a_hashed_script(web: httpx.AsyncClient) -> None:
    request = web.build_request(
        "GET", "/assets/index-AbC123.js", headers={"Accept-Encoding": BROWSER}
    )
    response = await web.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-length"] == str(len(FAKE_BR))
    assert raw == FAKE_BR


@pytest.mark.parametrize("accept", ["gzip, deflate", "br;q=0, gzip", "GZIP;q=0.5"])
async def test_without_brotli_the_gzip_copy_is_sent(web: httpx.AsyncClient, accept: str) -> None:
    response = await web.get("/assets/index-AbC123.js", headers={"Accept-Encoding": accept})

    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == SCRIPT  # httpx decoded the gzip


@pytest.mark.parametrize("accept", ["identity", "br;q=0, gzip;q=0", "*;q=0", ""])
async def test_a_client_accepting_no_compression_gets_the_file_itself(
    web: httpx.AsyncClient, accept: str
) -> None:
    request = web.build_request(
        "GET", "/assets/index-AbC123.js", headers={"Accept-Encoding": accept}
    )
    response = await web.send(request)

    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == SCRIPT


async def test_a_file_without_copies_is_sent_as_it_is_and_does_not_vary(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/assets/small-XyZ.css", headers={"Accept-Encoding": BROWSER})

    assert response.text == "body{margin:0}"
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", ["/", "/orders", "/index.html"])
async def test_the_page_is_compressed_too_and_keeps_its_policy_and_revalidation(
    web: httpx.AsyncClient, path: str
) -> None:
    response = await web.get(path, headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.content == INDEX


async def test_head_of_the_compressed_page_gives_the_compressed_length(
    web: httpx.AsyncClient,
) -> None:
    response = await web.head("/", headers={"Accept-Encoding": "gzip"})

    assert response.headers["content-length"] == str(len(gzip.compress(INDEX)))
    assert response.headers["content-encoding"] == "gzip"


async def test_source_maps_are_never_served(web: httpx.AsyncClient) -> None:
    response = await web.get("/assets/index-AbC123.js.map")

    assert response.status_code == 404
    assert "App.tsx" not in response.text


async def test_a_real_http_client_decodes_what_the_server_sends(dist: Path) -> None:
    running = await serve(create_app(Settings(dist_dir=dist)))
    try:
        async with aiohttp.ClientSession() as session:
            url = f"{running.url}/assets/index-AbC123.js"
            headers = {"Accept-Encoding": "gzip"}
            async with session.get(url, headers=headers) as response:
                assert response.headers["Content-Encoding"] == "gzip"
                assert await response.read() == SCRIPT
    finally:
        await running.stop()


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, set()),
        ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
        ("br;q=0, gzip;q=0.8", {"gzip"}),
        ("*", {"*", "br", "gzip"}),
        ("*, br;q=0", {"*", "gzip"}),
        ("gzip;q=nonsense", set()),
        (" BR ; q=1 ,, ", {"br"}),
    ],
)
def test_accept_encoding_is_read_with_its_weights(header: str | None, accepted: set[str]) -> None:
    assert accepted_encodings(header) == accepted
