"""Settings of the static web server: ``WEB_*`` plus the platform-wide ``SHOPMESH_*`` values."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from shopmesh.kit.settings import ServiceSettings

# src/shopmesh/web/settings.py -> the repository root is three folders up from this package.
_REPO_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


def default_dist_dir() -> Path:
    """``<repo>/web/dist`` next to the package (editable install), else under the cwd."""
    candidates = [_REPO_DIST, Path.cwd() / "web" / "dist"]
    for candidate in candidates:
        if (candidate / "index.html").is_file():
            return candidate
    return candidates[0]


class Settings(ServiceSettings):
    """Everything the web server reads from the environment (``WEB_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", populate_by_name=True)

    service_name: str = "web"
    port: int = 3000
    # The built app (WEB_DIST_DIR); unset: <repo>/web/dist.
    dist_dir: Path | None = None
    # The gateway's base URL as the browser reaches it (WEB_API_BASE); unset: the page's
    # own host name on port 8080, so the refresh cookie stays same-site.
    api_base: str | None = None

    @field_validator("api_base")
    @classmethod
    def _clean_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        base = value.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError("WEB_API_BASE must be an http(s) URL")
        return base

    @property
    def dist(self) -> Path:
        return (self.dist_dir or default_dist_dir()).resolve()

    def secrets(self) -> dict[str, str]:
        """The static server signs and verifies nothing, so production needs no secret here."""
        return {}
