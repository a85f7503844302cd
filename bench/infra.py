"""What the benchmark runs on: its own PostgreSQL and Kafka, and every process it starts.

PostgreSQL (25432) and Kafka (29092/29093; ``BENCH_PG_PORT`` and
``BENCH_KAFKA_PORT`` move them, the controller takes the next port) keep their
state under ``.data/bench/``, apart from `make up`'s and the tests'. Every process the
benchmark starts is recorded here by pid and stopped by pid at the end,
also after a failure or Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from shopmesh.launcher import stop_pid

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".data" / "bench"
SCRIPTS = REPO / "scripts"
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "25432"))
KAFKA_PORT = int(os.environ.get("BENCH_KAFKA_PORT", "29092"))
KAFKA_CONTROLLER_PORT = KAFKA_PORT + 1
ADMIN_URL = f"postgresql+asyncpg://shopmesh@127.0.0.1:{PG_PORT}/postgres"
KAFKA_BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"

log = logging.getLogger("bench")
# Where the processes the benchmark starts write their logs. Kafka's and PostgreSQL's
# directories are not among them: their state (Kafka's segments end in .log) stays.
LOG_DIRS = (
    "gateway-overhead/logs",
    "nginx/upstream",
    "nginx/proxy",
    "forwarder",
    "platform/logs",
    "up/logs",
)


@dataclass
class Cleanup:
    """Stop actions run in reverse order at exit; each process is stopped by its pid."""

    actions: list[tuple[str, Callable[[], object]]] = field(default_factory=list)

    def push(self, what: str, action: Callable[[], object]) -> None:
        self.actions.append((what, action))

    def process(self, what: str, process: subprocess.Popen[bytes]) -> None:
        """Stop ``process`` (SIGTERM, then SIGKILL) when the benchmark ends."""

        def stop() -> None:
            if process.poll() is None:
                stop_pid(process.pid, timeout=10)
            process.wait()

        self.push(what, stop)

    def run(self) -> None:
        while self.actions:
            what, action = self.actions.pop()
            try:
                action()
            except Exception:
                log.exception("cleanup of %s failed", what)


def terminate_as_interrupt() -> None:
    """SIGTERM (e.g. a CI timeout) and Ctrl-C both unwind at once, so the cleanup runs.

    Installed for SIGINT too, so asyncio's own handler (which only cancels the
    main task, and waits for it) does not replace it; an ignored SIGINT (a
    background job) stays ignored.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, handler)


def drop_old_logs(state: Path = STATE) -> None:
    """Delete the logs an earlier run left: the access logs of one run take gigabytes.

    What a run needs to keep (wrk output, locust CSVs) goes to its results directory.
    """
    for directory in LOG_DIRS:
        for path in (state / directory).glob("*.log"):
            path.unlink()


def script(*args: str) -> None:
    """Run one of the repository's helper scripts; its progress goes to our stderr."""
    subprocess.run([str(SCRIPTS / args[0]), *args[1:]], check=True, stdin=subprocess.DEVNULL)


def start_postgres(cleanup: Cleanup) -> None:
    script("postgres.sh", "start", str(STATE / "postgres"), str(PG_PORT))
    cleanup.push("postgres", lambda: script("postgres.sh", "stop", str(STATE / "postgres")))


def start_kafka(cleanup: Cleanup, *, state: Path = STATE / "kafka") -> None:
    script("kafka.sh", "install")
    script("kafka.sh", "start", str(state), str(KAFKA_PORT), str(KAFKA_CONTROLLER_PORT))
    cleanup.push("kafka", lambda: script("kafka.sh", "stop", str(state)))


def kafka_pid(state: Path = STATE / "kafka") -> int | None:
    try:
        return int((state / "kafka.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def postgres_pid(state: Path = STATE / "postgres") -> int | None:
    try:
        return int((state / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def spawn(
    cleanup: Cleanup,
    what: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a helper process (nginx, a load generator) that the cleanup stops by pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    cleanup.process(what, process)
    return process
