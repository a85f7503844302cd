"""Where each backend service lives: static base URLs, picked round-robin.

Registry discovery, ejection of failing instances and a circuit breaker will
replace or wrap this class: the proxy only calls :meth:`Upstreams.pick`, and
classifies each call's outcome in one place (``proxy.forward``), where a
health report back to this class will go.
"""

from __future__ import annotations

from collections.abc import Mapping


class Upstreams:
    """Base URLs per service, handed out in turn."""

    def __init__(self, services: Mapping[str, list[str]]) -> None:
        self._urls: dict[str, tuple[str, ...]] = {
            name: tuple(url.rstrip("/") for url in urls) for name, urls in services.items() if urls
        }
        self._next: dict[str, int] = dict.fromkeys(self._urls, 0)

    def pick(self, service: str) -> str | None:
        """A base URL (``http://host:port``) for ``service``, or ``None`` if it has none."""
        urls = self._urls.get(service)
        if not urls:
            return None
        index = self._next[service]
        self._next[service] = (index + 1) % len(urls)
        return urls[index]

    def services(self) -> frozenset[str]:
        """Names of the services that have at least one URL."""
        return frozenset(self._urls)
