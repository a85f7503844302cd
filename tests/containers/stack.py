"""docker-compose.yml run for real with podman-compose, apart from anything else on the machine.

The stack gets a compose project name of its own (every container, network and volume
carries it) and free host ports for every port the file publishes, through the file's
``SHOPMESH_<NAME>_PORT`` variables. The third-party images are swapped for the ones
``scripts/containers.sh`` builds (``compose.stand-ins.yml``); everything else is the
file as users run it. Health is asked with ``podman healthcheck run`` (podman runs
health checks on a systemd timer, and there is no systemd here).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness.resources import free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
COMPOSE_FILES = (REPO / "docker-compose.yml", HERE / "compose.stand-ins.yml")
CONTAINERS_CONF = HERE / "containers.conf"
# The services the compose file publishes on the host, by their port variable's name.
PUBLISHED = (
    "postgres",
    "kafka",
    "registry",
    "auth",
    "customers",
    "products",
    "payments",
    "analytics",
    "orders",
    "dispatcher",
    "gateway",
    "web",
)
PROJECT_LABEL = "io.podman.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``podman args`` with the test's containers.conf; output captured as text."""
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=timeout, check=check
    )


@dataclass
class Stack:
    """One compose project: its name, host ports and the environment compose reads."""

    project: str = field(default_factory=lambda: f"shopmesh-ct-{uuid.uuid4().hex[:8]}")
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in PUBLISHED})

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def env(self) -> dict[str, str]:
        env = {f"SHOPMESH_{name.upper()}_PORT": str(port) for name, port in self.ports.items()}
        # The UI must call the gateway where the host publishes it, and the gateway must
        # allow the UI's origin: what a user who moves the ports sets too.
        env["WEB_API_BASE"] = self.url("gateway")
        env["GATEWAY_CORS_ORIGINS"] = self.url("web")
        return {**os.environ, **env, "CONTAINERS_CONF": str(CONTAINERS_CONF)}

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = [str(REPO / "scripts" / "containers.sh"), "compose", "-p", self.project]
        for path in COMPOSE_FILES:
            command += ["-f", str(path)]
        return subprocess.run(
            [*command, *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def containers(self) -> dict[str, str]:
        """Service name -> container name, for every container of this project."""
        listed = podman(
            "ps", "-a", "--filter", f"label={PROJECT_LABEL}={self.project}", "--format", "json"
        )
        return {
            c["Labels"][SERVICE_LABEL]: c["Names"][0] for c in json.loads(listed.stdout or "[]")
        }

    def health(self, container: str) -> str:
        """``healthy``, ``unhealthy`` or why the check could not run (container stopped...)."""
        result = podman("healthcheck", "run", container, check=False, timeout=60)
        if result.returncode == 0:  # podman 4.3 prints nothing when the check passes
            return "healthy"
        return (result.stdout.strip() or result.stderr.strip() or "unhealthy").splitlines()[-1]

    def wait_healthy(self, expected: set[str], *, timeout: float) -> dict[str, str]:
        """Run every container's health check until all pass; the last statuses."""
        deadline = time.monotonic() + timeout
        statuses: dict[str, str] = {}
        while True:
            containers = self.containers()
            for service in expected:
                if statuses.get(service) != "healthy":
                    name = containers.get(service)
                    statuses[service] = self.health(name) if name else "no container"
            if all(status == "healthy" for status in statuses.values()):
                return statuses
            if time.monotonic() > deadline:
                return statuses
            time.sleep(2)

    def restarts(self) -> dict[str, int]:
        """Service name -> how often its container was restarted (it exited, then its
        restart policy started it again)."""
        containers = self.containers()
        listed = podman("inspect", "--format", "{{.RestartCount}}", *containers.values())
        return dict(zip(containers, map(int, listed.stdout.split()), strict=True))

    def logs(self, service: str, lines: int = 40) -> str:
        name = self.containers().get(service)
        if name is None:
            return "(no container)"
        result = podman("logs", "--tail", str(lines), name, check=False)
        return result.stdout + result.stderr

    def leftovers(self) -> dict[str, list[str]]:
        """Whatever of this project is still there: containers, pods, volumes, networks."""
        label = f"label={PROJECT_LABEL}={self.project}"
        found = {
            "containers": podman("ps", "-a", "-q", "--filter", label).stdout.split(),
            "volumes": podman("volume", "ls", "-q", "--filter", label).stdout.split(),
            "networks": podman("network", "ls", "-q", "--filter", label).stdout.split(),
            "pods": podman(
                "pod", "ps", "-q", "--filter", f"name=pod_{self.project}"
            ).stdout.split(),
        }
        return {kind: names for kind, names in found.items() if names}

    def remove(self) -> dict[str, list[str]]:
        """``down -v``, then whatever of this project it left; what could not be removed."""
        self.compose("down", "-v", "-t", "10", timeout=300)
        # Pods first: their containers depend on one another, and a plain rm refuses those.
        for kind in ("pods", "containers", "volumes", "networks"):
            names = self.leftovers().get(kind, [])
            if kind == "containers" and names:
                podman("rm", "-f", "-v", "--depend", *names, check=False)
            elif names:
                podman(kind[:-1], "rm", "-f", *names, check=False)
        return self.leftovers()
