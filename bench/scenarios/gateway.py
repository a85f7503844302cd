"""Scenario 1: the gateway's overhead against nginx, on the same tiny JSON upstream.

The upstream is an nginx `return 200` (one worker) so that neither proxy
waits on a slow backend: what is measured is the proxy. Four paths, same
wrk (one thread, same connections), keep-alive: the upstream directly, nginx
proxying it (one worker, keep-alive pool, access log on), the gateway (one
process; every feature on: JWT check, per-IP and per-user rate limits, access
log, metrics, trace context, the hostile-HTTP checks), and the floor under the
gateway: ``bench.forwarder``, a bare Python forwarder on the gateway's own
upstream client, with none of the gateway's features. Then nginx and the
gateway again with a new connection per request (``Connection: close``).
Then latency with the open-loop generator at a quarter of the gateway's
maximum rate (directly, through the forwarder and through the gateway): the
difference of a path's p99 and the direct one's at the same rate is what the
path adds.

Each run also records each proxy process's CPU time per request (nginx's
worker included) and, in the open loop, how busy the Python proxies were
(the share of one core).
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench import infra
from bench.context import CREDENTIALS, Context
from bench.load import open_loop, summary, wrk
from bench.measure import cpu_seconds, preemptions, process_tree
from bench.scenarios.gateway_report import report
from harness.resources import free_port
from shopmesh.gateway.upstream_http import UpstreamClient
from shopmesh.kit.aio import poll
from shopmesh.launcher import Launcher, ServiceSpec

log = logging.getLogger("bench")
BENCH_DIR = Path(__file__).resolve().parents[1]
CONNECTIONS = 64


def _nginx(ctx: Context, role: str, port: int, upstream: str, *, access_log: bool) -> int:
    state = infra.STATE / "nginx" / role
    state.mkdir(parents=True, exist_ok=True)
    values = {
        "state": str(state),
        "port": str(port),
        "upstream": upstream,
        "access_log": f"{state}/access.log combined buffer=64k" if access_log else "off",
    }
    conf = (BENCH_DIR / "nginx.conf").read_text()
    for name, value in values.items():
        conf = conf.replace(f"@{name}@", value)
    (state / "nginx.conf").write_text(conf)
    process = infra.spawn(
        ctx.cleanup,
        f"nginx-{role}",
        ["nginx", "-p", str(state), "-c", str(state / "nginx.conf")],
        log_path=state / "stdout.log",
    )
    return process.pid


def _gateway(ctx: Context, upstream: str) -> tuple[str, int]:
    port = free_port()
    launcher = Launcher(infra.STATE / "gateway-overhead")
    spec = ServiceSpec("gateway", port, instance="bench", database=False)
    env = {
        "GATEWAY_ROUTES_FILE": str(BENCH_DIR / "gateway-routes.toml"),
        "GATEWAY_UPSTREAMS": json.dumps({"echo": [upstream]}),
        "SHOPMESH_JWT_SECRET": CREDENTIALS.jwt_secret,
        "GATEWAY_RATE_LIMIT_IP": "1000000/second",
        "GATEWAY_RATE_LIMIT_USER": "1000000/second",
    }
    running = launcher.start(spec, env=env, port=port)
    ctx.cleanup.push("gateway (overhead)", lambda: launcher.stop(spec))
    return f"http://127.0.0.1:{port}", running.pid


def _forwarder(ctx: Context, upstream: str) -> tuple[str, int]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.forwarder", "--port", str(port)]
    process = infra.spawn(
        ctx.cleanup,
        "forwarder",
        [*argv, "--upstream", upstream, "--strip", "/bench"],
        log_path=infra.STATE / "forwarder" / "stdout.log",
        env={"PYTHONPATH": str(infra.REPO)},
    )
    return f"http://127.0.0.1:{port}", process.pid


async def _answers(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> bool:
    try:
        async with session.get(url, headers=headers) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def run(ctx: Context) -> dict[str, Any]:
    up_port, proxy_port = free_port(), free_port()
    _nginx(ctx, "upstream", up_port, "127.0.0.1:1", access_log=False)
    nginx_pid = _nginx(ctx, "proxy", proxy_port, f"127.0.0.1:{up_port}", access_log=True)
    gateway, gateway_pid = _gateway(ctx, f"http://127.0.0.1:{up_port}")
    forwarder, forwarder_pid = _forwarder(ctx, f"http://127.0.0.1:{up_port}")
    proxies = {
        "nginx": nginx_pid,
        "nginx_new_connection": nginx_pid,
        "forwarder": forwarder_pid,
        "gateway": gateway_pid,
        "gateway_new_connection": gateway_pid,
    }
    auth = {"Authorization": f"Bearer {ctx.token_for(4242)}"}
    close = {"Connection": "close"}
    targets = {
        "direct": (f"http://127.0.0.1:{up_port}/json", {}),
        "nginx": (f"http://127.0.0.1:{proxy_port}/bench/json", {}),
        # The same request as the gateway's, token included (passed on, never checked).
        "forwarder": (f"{forwarder}/bench/json", auth),
        "gateway": (f"{gateway}/bench/json", auth),
        "nginx_new_connection": (f"http://127.0.0.1:{proxy_port}/bench/json", close),
        "gateway_new_connection": (f"{gateway}/bench/json", {**auth, **close}),
    }
    async with aiohttp.ClientSession() as session:
        for name, (url, headers) in targets.items():

            async def answering(u: str = url, h: dict[str, str] = headers) -> bool:
                return await _answers(session, u, h)

            await poll(
                answering,
                timeout=60,
                what=f"{name} answering",
            )
    seconds = ctx.seconds(15, 4)
    raw = ctx.raw_dir / "gateway-wrk.txt"
    closed: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    order = list(targets)
    for repeat in range(ctx.repeats):
        # Rotate the order so no path always runs first (or last) on a noisy machine.
        turn = repeat % len(order)
        for name in order[turn:] + order[:turn]:
            url, headers = targets[name]
            with _ProxyCpu(proxies.get(name)) as cpu:
                result = wrk(
                    url, seconds=seconds, connections=CONNECTIONS, headers=headers, raw_log=raw
                )
            figures = {**result.figures(), **cpu.figures(result.requests)}
            closed[name].append(figures)
            log.info("gateway scenario: %s %s", name, figures)
    gateway_max = statistics.median(r["req_per_s"] for r in closed["gateway"])
    # At a quarter of the gateway's maximum: what it adds with room to spare (at half of it
    # any Python proxy is more than half busy on these two cores; see bench/README.md).
    rate = max(50.0, gateway_max / 4)
    plan = [(name, name, rate) for name in ("direct", "forwarder", "gateway")]
    open_runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in plan}
    # The generator runs on the same two cores: it uses the gateway's own lean client
    # (a fraction of aiohttp's CPU per request), so its jitter blurs the p99s less.
    client = UpstreamClient(limit=512, keepalive=30, connect_timeout=5)
    try:
        for _ in range(ctx.repeats):
            for label, name, at in plan:
                with _ProxyCpu(proxies.get(name)) as cpu:
                    figures = await _open_loop_run(client, *targets[name], at, ctx.seconds(15, 4))
                figures.update(cpu.figures(figures["sent"], busy=True))
                open_runs[label].append(figures)
                log.info("gateway scenario: open loop %s %s", label, figures)
    finally:
        await client.close()
    return report(closed, open_runs, rate)


class _ProxyCpu:
    """The CPU time one proxy (a process and its children: nginx's worker) spent during a run.

    Nothing for the paths that are no proxy.
    """

    def __init__(self, pid: int | None) -> None:
        self._pids = process_tree([pid]) if pid is not None else set()
        self._started = (0.0, 0.0)  # the processes' CPU seconds and the clock, at the start
        self._cpu = self._wall = 0.0  # what the run took of each
        self._preempted = 0  # involuntary context switches: at the start, then during the run

    def __enter__(self) -> _ProxyCpu:
        if self._pids:
            self._started = (cpu_seconds(self._pids), time.monotonic())
            self._preempted = preemptions(self._pids)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pids:
            self._cpu = cpu_seconds(self._pids) - self._started[0]
            self._wall = time.monotonic() - self._started[1]
            self._preempted = preemptions(self._pids) - self._preempted

    def figures(self, requests: float, *, busy: bool = False) -> dict[str, float]:
        """CPU µs per request, how often per request it lost the CPU while it had work
        (a loaded machine's scheduler handing the core to the processes it woke) and, with
        ``busy``, the share of one core it kept busy."""
        if not self._pids or not requests:
            return {}
        figures = {
            "cpu_us_per_req": round(self._cpu / requests * 1e6, 1),
            "preempted_per_req": round(self._preempted / requests, 3),
        }
        if busy:
            figures["busy"] = round(self._cpu / self._wall, 3) if self._wall else 0.0
        return figures


async def _open_loop_run(
    client: UpstreamClient, url: str, headers: dict[str, str], rate: float, seconds: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    base, target = f"{parts.scheme}://{parts.netloc}", parts.path
    wire_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def call(c: UpstreamClient, i: int) -> int:
        response = await c.request(base, "GET", target, wire_headers, None, timeout=10)
        await response.read()
        status: int = response.status
        return status

    return summary(await open_loop(client, call, rate=rate, seconds=seconds))
