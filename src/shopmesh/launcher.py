"""Starts, watches and stops the platform's service processes.

Used by the ``shopmesh`` command (``make up`` / ``make down``) and by the
system tests, so both run the services exactly the same way: one process per
service, started by its own console script, recorded by process id.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service of the platform: its name, env prefix and default port.

    ``instance`` tells apart several processes of one service (``products-2``).
    """

    name: str
    port: int
    instance: str = ""
    database: bool = True

    @property
    def key(self) -> str:
        return f"{self.name}-{self.instance}" if self.instance else self.name

    @property
    def env_prefix(self) -> str:
        return self.name.upper()

    @property
    def command(self) -> str:
        return f"shopmesh-{self.name}"


# Start order: producers before their consumers, the gateway last.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("registry", 9999, database=False),
    ServiceSpec("auth", 8081),
    ServiceSpec("customers", 8084),
    ServiceSpec("products", 8085),
    ServiceSpec("payments", 8082),
    ServiceSpec("analytics", 8083),
    ServiceSpec("orders", 8086),
    ServiceSpec("dispatcher", 8087),
    ServiceSpec("gateway", 8080, database=False),
    ServiceSpec("web", 3000, database=False),
)


@dataclass
class RunningService:
    spec: ServiceSpec
    pid: int
    url: str
    log_path: Path


class Launcher:
    """Runs services as detached processes with pid files under ``state_dir``."""

    def __init__(self, state_dir: Path, *, host: str = "127.0.0.1") -> None:
        self.state_dir = state_dir
        self.host = host
        self.pid_dir = state_dir / "pids"
        self.log_dir = state_dir / "logs"
        # Children started by this launcher, kept so they are reaped when stopped.
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._started: dict[str, ServiceSpec] = {}

    def url(self, spec: ServiceSpec, port: int | None = None) -> str:
        return f"http://{self.host}:{port or spec.port}"

    def start(
        self, spec: ServiceSpec, *, env: Mapping[str, str], port: int | None = None
    ) -> RunningService:
        """Start ``spec`` unless its recorded process is still alive."""
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = port or spec.port
        log_path = self.log_dir / f"{spec.key}.log"
        existing = self.pid_of(spec)
        if existing is not None:
            return RunningService(spec, existing, self.url(spec, port), log_path)
        child_env = {
            **os.environ,
            **env,
            f"{spec.env_prefix}_PORT": str(port),
            f"{spec.env_prefix}_HOST": self.host,
        }
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [_script(spec.command)],
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._children[spec.key] = process
        self._started[spec.key] = spec
        self._pid_file(spec).write_text(str(process.pid))
        return RunningService(spec, process.pid, self.url(spec, port), log_path)

    def pid_of(self, spec: ServiceSpec) -> int | None:
        """The recorded pid when that process is still alive, else None."""
        path = self._pid_file(spec)
        try:
            pid = int(path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def stop(self, spec: ServiceSpec, *, timeout: float = 15.0, hard: bool = False) -> bool:
        """Stop the recorded process (SIGTERM, then SIGKILL); True if one was running."""
        pid = self.pid_of(spec)
        self._pid_file(spec).unlink(missing_ok=True)
        child = self._children.pop(spec.key, None)
        if pid is not None:
            stop_pid(pid, timeout=timeout, hard=hard)
        if child is not None:
            child.wait()
        return pid is not None

    async def wait_ready(
        self, running: Iterable[RunningService], *, timeout: float = 60.0
    ) -> dict[str, bool]:
        """Wait for each service's ``/ready``; one whose process has exited is given up on."""
        services = list(running)
        return await wait_ready(
            {r.spec.key: r.url for r in services},
            timeout=timeout,
            alive={r.spec.key: self._liveness(r.spec) for r in services},
        )

    def started(self) -> list[ServiceSpec]:
        """Every spec this launcher started (extra instances included), in start order."""
        return list(self._started.values())

    def stop_all(self, specs: Iterable[ServiceSpec] = SERVICES) -> list[str]:
        return [spec.key for spec in reversed(tuple(specs)) if self.stop(spec)]

    def _liveness(self, spec: ServiceSpec) -> Callable[[], bool]:
        return lambda: self.pid_of(spec) is not None

    def _pid_file(self, spec: ServiceSpec) -> Path:
        return self.pid_dir / f"{spec.key}.pid"


def stop_pid(pid: int, *, timeout: float = 15.0, hard: bool = False) -> None:
    """Signal one process we started and wait until it has gone."""
    try:
        os.kill(pid, signal.SIGKILL if hard else signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        finished = 0  # not our child (started by an earlier `shopmesh up`)
    if finished == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _script(command: str) -> str:
    """The console script next to this interpreter (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / command
    return str(candidate) if candidate.exists() else command


async def wait_ready(
    urls: Mapping[str, str],
    *,
    timeout: float = 60.0,
    path: str = "/ready",
    alive: Mapping[str, Callable[[], bool]] | None = None,
) -> dict[str, bool]:
    """Poll each service's readiness endpoint until all answer 200 or time runs out.

    ``alive`` (by service name) lets the wait stop early for a process that died.
    """
    pending = dict(urls)
    ready: dict[str, bool] = {name: False for name in urls}
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if await _answers(session, url + path):
                    ready[name] = True
                    del pending[name]
                elif alive is not None and name in alive and not alive[name]():
                    del pending[name]
            if pending:
                await asyncio.sleep(0.2)
    return ready


async def _answers(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False
