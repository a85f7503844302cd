"""The fault runs' own PostgreSQL and Kafka (single node or three-node cluster), under .data/chaos.

Started and stopped with the repository's scripts (``scripts/postgres.sh``,
``scripts/kafka.sh``); a broker is crashed by its recorded pid. Everything
listens on loopback, on ports apart from ``make up`` and ``make test``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shopmesh.kit.kafka import kafka_reachable

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
PG_PORT = 35432
KAFKA_PORT = 39092
KAFKA_CONTROLLER_PORT = 39093
# Node N of the cluster: client port 391N2, controller port 391N3 (N = 1..3).
CLUSTER_NODES = (1, 2, 3)


def _script(*args: str, timeout: float = 180.0) -> None:
    subprocess.run([str(SCRIPTS / args[0]), *args[1:]], check=True, timeout=timeout)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in {"Z", "X"}


def kill_pid(pid: int, *, timeout: float = 20.0) -> None:
    """SIGKILL one process we started (a crash) and wait until it is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


@dataclass
class Postgres:
    state_dir: Path
    port: int = PG_PORT

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://shopmesh@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _script("postgres.sh", "start", str(self.state_dir), str(self.port))

    def stop(self) -> None:
        _script("postgres.sh", "stop", str(self.state_dir))


@dataclass
class KafkaNode:
    """One broker (with its controller): a single-node cluster, or node N of three."""

    state_dir: Path
    client_port: int
    controller_port: int
    node_id: int | None = None
    voters: str = ""
    cluster_id_file: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self) -> None:
        args = [str(self.state_dir), str(self.client_port), str(self.controller_port)]
        if self.node_id is not None:
            args += [str(self.node_id), self.voters, str(self.cluster_id_file)]
        _script("kafka.sh", "start", *args)

    def stop(self) -> None:
        """Controlled shutdown (SIGTERM), as kafka.sh does it."""
        _script("kafka.sh", "stop", str(self.state_dir))

    def pid(self) -> int | None:
        try:
            pid = int((self.state_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def crash(self) -> None:
        """kill -9 the broker: no controlled shutdown, no leadership hand-over."""
        pid = self.pid()
        if pid is not None:
            kill_pid(pid)
        (self.state_dir / "kafka.pid").unlink(missing_ok=True)


@dataclass
class Kafka:
    nodes: list[KafkaNode]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.address for node in self.nodes)

    @property
    def replication(self) -> int:
        return len(self.nodes)

    def start(self) -> None:
        """Start every node; a cluster's nodes in parallel (each waits for the quorum)."""
        if len(self.nodes) == 1:
            self.nodes[0].start()
            return
        args = [
            [
                str(SCRIPTS / "kafka.sh"),
                "start",
                str(n.state_dir),
                str(n.client_port),
                str(n.controller_port),
                str(n.node_id),
                n.voters,
                str(n.cluster_id_file),
            ]
            for n in self.nodes
        ]
        processes = [subprocess.Popen(a) for a in args]
        codes = [p.wait(timeout=240) for p in processes]
        if any(codes):
            raise RuntimeError(f"Kafka cluster did not start: exit codes {codes}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    async def wait_reachable(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not await kafka_reachable(self.bootstrap):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka at {self.bootstrap} not reachable")
            await asyncio.sleep(0.2)


def single_kafka(root: Path) -> Kafka:
    return Kafka([KafkaNode(root / "kafka", KAFKA_PORT, KAFKA_CONTROLLER_PORT)])


def kafka_cluster(root: Path) -> Kafka:
    base = root / "kafka-cluster"
    voters = ",".join(f"{n}@127.0.0.1:391{n}3" for n in CLUSTER_NODES)
    return Kafka(
        [
            KafkaNode(
                base / f"node{n}",
                int(f"391{n}2"),
                int(f"391{n}3"),
                node_id=n,
                voters=voters,
                cluster_id_file=base / "cluster.id",
            )
            for n in CLUSTER_NODES
        ]
    )
