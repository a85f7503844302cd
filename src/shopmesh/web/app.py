"""The static server: the built app, ``/config.js``, and the client-side routes' fallback.

Not on the API's hot path (the browser fetches the app once and then talks to
the gateway), so a small Starlette app is enough.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from shopmesh.kit.http import error_body
from shopmesh.web.encoding import representation
from shopmesh.web.settings import Settings

# Vite puts content-hashed files under /assets/: a changed file gets a new name.
ASSETS_PREFIX = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=3600"

# Paths that name a file: missing ones are 404, never the app's index.html.
_CODE = (".js", ".mjs", ".css", ".map", ".json", ".wasm", ".txt", ".xml", ".webmanifest")
_IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".ico")
_FONTS = (".woff", ".woff2", ".ttf")
FILE_SUFFIXES = frozenset((*_CODE, *_IMAGES, *_FONTS))
# Source maps would publish the source: never served, even when a build wrote some.
PRIVATE_SUFFIXES = frozenset({".map"})

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".wasm": "application/wasm",
    ".txt": "text/plain; charset=utf-8",
}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def cache_control(url_path: str) -> str:
    if url_path.startswith(ASSETS_PREFIX):
        return IMMUTABLE
    if url_path.endswith(".html") or url_path == "/":
        return REVALIDATE
    return SHORT


def config_script(api_base: str | None) -> str:
    """``window.SHOPMESH_CONFIG`` for the app; ``{}`` lets it use the page's host on :8080."""
    config = {"apiBase": api_base} if api_base else {}
    # json.dumps output is valid JavaScript; escaping "<" keeps it inert even if inlined.
    text = json.dumps(config).replace("<", "\\u003c")
    return f"window.SHOPMESH_CONFIG = {text};\n"


def content_security_policy(api_origin: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {api_origin}",
            "img-src 'self' data: https: http:",
            "style-src 'self' 'unsafe-inline'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )


# Unset WEB_API_BASE (development): the app calls the page's host on :8080, and the
# gateway's default CORS list admits the UI on localhost and 127.0.0.1 only.
_DEVELOPMENT_API_ORIGINS = "http://localhost:8080 http://127.0.0.1:8080"


def _api_origin(settings: Settings) -> str:
    """Where the page may connect: from settings only, never from the request's Host header."""
    if settings.api_base:
        parts = urlsplit(settings.api_base)
        return f"{parts.scheme}://{parts.netloc}"
    return _DEVELOPMENT_API_ORIGINS


def _error(status: int, message: str, code: str) -> Response:
    return Response(
        error_body(message, code=code),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


class StaticSite:
    """Resolves URL paths to files of the built app, safely inside its folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.dist

    @property
    def index(self) -> Path:
        return self.root / "index.html"

    def file_for(self, url_path: str) -> Path | None:
        """The file a URL path names, or None (also for anything outside the folder)."""
        relative = PurePosixPath(url_path.lstrip("/"))
        if any(part in ("..", ".") or part.startswith(".") for part in relative.parts):
            return None
        if relative.suffix.lower() in PRIVATE_SUFFIXES:
            return None
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def serve_file(self, path: Path, url_path: str, request: Request) -> Response:
        """The file, or its precompressed copy when the browser accepts that encoding."""
        if path.name == "index.html":
            return self.serve_index(request)
        chosen = representation(path, request.headers.get("accept-encoding"))
        headers = {"Cache-Control": cache_control(url_path), **chosen.headers, **SECURITY_HEADERS}
        return FileResponse(chosen.path, media_type=content_type(path), headers=headers)

    def serve_index(self, request: Request) -> Response:
        chosen = representation(self.index, request.headers.get("accept-encoding"))
        try:
            body = chosen.path.read_bytes()
        except OSError:
            return _error(
                503, "the web app is not built yet (run scripts/web.sh build)", "not_ready"
            )
        headers = {
            "Cache-Control": REVALIDATE,
            "Content-Security-Policy": content_security_policy(_api_origin(self.settings)),
            **chosen.headers,
            **SECURITY_HEADERS,
        }
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(b"", headers=headers, media_type=CONTENT_TYPES[".html"])
        return Response(body, headers=headers, media_type=CONTENT_TYPES[".html"])


def _names_a_file(url_path: str) -> bool:
    return url_path.startswith(ASSETS_PREFIX) or PurePosixPath(url_path).suffix in FILE_SUFFIXES


def create_app(settings: Settings | None = None) -> Any:
    """The web server's ASGI app; it reads the files per request, so a rebuild needs no restart."""
    settings = settings or Settings()
    site = StaticSite(settings)
    script = config_script(settings.api_base)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "web"})

    async def ready(request: Request) -> Response:
        if site.index.is_file():
            return JSONResponse({"status": "ready", "service": "web"})
        return _error(503, f"no built app at {site.root}", "not_ready")

    async def config_js(request: Request) -> Response:
        return PlainTextResponse(
            script,
            media_type="text/javascript",
            headers={"Cache-Control": "no-store", **SECURITY_HEADERS},
        )

    async def page(request: Request) -> Response:
        url_path = request.url.path
        if request.method not in ("GET", "HEAD"):
            return _error(405, "method not allowed", "method_not_allowed")
        found = site.file_for(url_path)
        if found is not None:
            return site.serve_file(found, url_path, request)
        if _names_a_file(url_path):
            return _error(404, f"no file at {url_path}", "not_found")
        return site.serve_index(request)  # a client-side route: the app decides

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET", "HEAD"]),
            Route("/ready", ready, methods=["GET", "HEAD"]),
            Route("/config.js", config_js, methods=["GET", "HEAD"]),
            Route(
                "/{path:path}",
                page,
                methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            ),
        ]
    )
