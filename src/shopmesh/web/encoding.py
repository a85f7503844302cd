"""Content negotiation for the precompressed copies of the UI build (``x.js.br``, ``x.js.gz``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Best first: brotli is ~15 % smaller than gzip on the app's JavaScript.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted_encodings(header: str | None) -> set[str]:
    """The codings an ``Accept-Encoding`` header allows (``q=0`` refuses one; ``*`` allows all)."""
    allowed: set[str] = set()
    refused: set[str] = set()
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        (allowed if quality > 0 else refused).add(name)
    if "*" in allowed:
        allowed |= {name for name, _ in ENCODINGS}
    return allowed - refused


@dataclass(frozen=True, slots=True)
class Representation:
    """The file to send for a request, and the headers that say how it is encoded."""

    path: Path
    encoding: str | None  # None: the file as it is
    varies: bool  # compressed copies exist, so the answer depends on Accept-Encoding

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Vary": "Accept-Encoding"} if self.varies else {}
        if self.encoding:
            headers["Content-Encoding"] = self.encoding
        return headers


def representation(path: Path, accept_encoding: str | None) -> Representation:
    """The best copy of ``path`` the client accepts: brotli, gzip, or the file itself."""
    copies = [(name, path.with_name(path.name + suffix)) for name, suffix in ENCODINGS]
    present = [(name, copy) for name, copy in copies if copy.is_file()]
    accepted = accepted_encodings(accept_encoding)
    for name, copy in present:
        if name in accepted:
            return Representation(copy, name, varies=True)
    return Representation(path, None, varies=bool(present))
