"""Container health check: GET <path> on the service running as PID 1's command.

The one image runs any service (``shopmesh-gateway``, ``shopmesh-orders``...);
the service's port is ``<SERVICE>_PORT`` when set, else its default port.
Usage: ``python /app/healthcheck.py [/health|/ready]``; exit 0 when it answers 2xx.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

# DESIGN.md's ports (tests/deploy checks them against shopmesh.launcher.SERVICES).
DEFAULT_PORTS = {
    "registry": 9999,
    "auth": 8081,
    "customers": 8084,
    "products": 8085,
    "payments": 8082,
    "analytics": 8083,
    "orders": 8086,
    "dispatcher": 8087,
    "gateway": 8080,
    "web": 3000,
}


def service_name(cmdline: list[str]) -> str | None:
    for arg in cmdline:
        name = os.path.basename(arg)
        if name.startswith("shopmesh-") and name[len("shopmesh-") :] in DEFAULT_PORTS:
            return name[len("shopmesh-") :]
    return None


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/health"
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        raw = b""
    name = os.environ.get("SHOPMESH_HEALTHCHECK_SERVICE") or service_name(
        [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    )
    if name is None:
        print("healthcheck: cannot tell which service runs", file=sys.stderr)
        return 1
    port = int(os.environ.get(f"{name.upper()}_PORT") or DEFAULT_PORTS[name])
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 (fixed http URL)
            return 0 if 200 <= response.status < 300 else 1
    except Exception as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
