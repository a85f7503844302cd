"""The route table: loaded once from ``routes.toml``, matched on every request.

Matching is a dict lookup on the first path segment followed by a few
``startswith`` checks over that segment's routes, longest prefix first.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Policy(StrEnum):
    """Who may call a route."""

    PUBLIC = "public"
    USER = "user"
    ADMIN = "admin"


class RouteConfigError(ValueError):
    """The route table file is malformed."""


@dataclass(frozen=True, slots=True)
class Route:
    """One public path prefix and where (and for whom) it is forwarded."""

    prefix: str
    service: str
    policy: Policy
    rewrite: str
    limit: str | None = None
    timeout: float | None = None
    # A plain field rather than a property: it is read on every request.
    needs_auth: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs_auth", self.policy is not Policy.PUBLIC)

    def matches(self, path: str) -> bool:
        """Prefix match on segment boundaries: ``/auth/me`` never matches ``/auth/meow``."""
        prefix = self.prefix
        if not path.startswith(prefix):
            return False
        return prefix.endswith("/") or len(path) == len(prefix) or path[len(prefix)] == "/"

    def upstream_path(self, path: str) -> str:
        """``path`` with the prefix replaced by the rewrite."""
        return self.rewrite + path[len(self.prefix) :]


class RouteTable:
    """Routes indexed by first path segment, each bucket longest prefix first."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(routes, key=lambda route: len(route.prefix), reverse=True)
        self._by_segment: dict[str, tuple[Route, ...]] = {}
        for route in self.routes:
            segment = _first_segment(route.prefix)
            self._by_segment[segment] = (*self._by_segment.get(segment, ()), route)

    def match(self, path: str) -> Route | None:
        """The route with the longest prefix matching ``path``, if any."""
        end = path.find("/", 1)  # the first segment, as _first_segment() finds it
        for route in self._by_segment.get(path[1:] if end < 0 else path[1:end], ()):
            if route.matches(path):
                return route
        return None

    @classmethod
    def load(cls, path: Path) -> RouteTable:
        """Read and validate a TOML route table (``[[route]]`` entries)."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RouteConfigError(f"cannot read route table {path}: {exc}") from exc
        entries = data.get("route")
        if not isinstance(entries, list) or not entries:
            raise RouteConfigError(f"{path}: no [[route]] entries")
        return cls([_route_from(entry, source=path) for entry in entries])


def has_dot_segment(path: str) -> bool:
    """Whether ``path`` has ``.`` or ``..`` segments (refused: backends may resolve them)."""
    if "/." not in path:
        return False
    return any(segment in (".", "..") for segment in path.split("/"))


def _first_segment(path: str) -> str:
    # "/api/auth/me" -> "api"; "/health" -> "health"; "/" -> ""
    end = path.find("/", 1)
    return path[1:] if end < 0 else path[1:end]


def _route_from(entry: Any, *, source: Path) -> Route:
    if not isinstance(entry, dict):
        raise RouteConfigError(f"{source}: each [[route]] must be a table")
    known = {"prefix", "service", "policy", "rewrite", "limit", "timeout"}
    unknown = set(entry) - known
    prefix = entry.get("prefix")
    service = entry.get("service")
    if unknown or not isinstance(prefix, str) or not isinstance(service, str):
        raise RouteConfigError(f"{source}: bad route {entry!r} (unknown keys: {sorted(unknown)})")
    if not prefix.startswith("/"):
        raise RouteConfigError(f"{source}: prefix {prefix!r} must start with '/'")
    try:
        policy = Policy(entry.get("policy", "user"))
    except ValueError:
        raise RouteConfigError(f"{source}: {prefix}: unknown policy {entry['policy']!r}") from None
    timeout = entry.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise RouteConfigError(f"{source}: {prefix}: timeout must be a positive number")
    return Route(
        prefix=prefix,
        service=service,
        policy=policy,
        rewrite=str(entry.get("rewrite", prefix)),
        limit=entry.get("limit"),
        timeout=float(timeout) if timeout is not None else None,
    )
