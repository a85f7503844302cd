"""Scenario 1: the gateway's overhead against nginx, on the same tiny JSON upstream.

The upstream is an nginx `return 200` (one worker) so that neither proxy
waits on a slow backend: what is measured is the proxy. Four paths, same
wrk (one thread, same connections): the upstream directly, nginx proxying
it (one worker, keep-alive pool, access log on), the gateway (one process;
JWT check, per-IP and per-user rate limits and its access log on), and the
floor under the gateway: ``bench.forwarder``, a bare Python forwarder on the
gateway's own upstream client, with none of the gateway's features. Then
latency with the open-loop generator at half the gateway's maximum rate
(directly, through the forwarder and through the gateway) and at a quarter
of it (directly and through the gateway): the difference of a path's p99 and
the direct one's at the same rate is what the path adds.

For the two Python proxies each run also records the proxy process's CPU
time per request and, in the open loop, how busy it was (the share of one
core): the p99 a proxy adds follows from how close to fully busy the test
rate keeps it.
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
from bench.measure import cpu_seconds, median_spread, spread
from harness.resources import free_port
from shopmesh.gateway.upstream_http import UpstreamClient
from shopmesh.kit.aio import poll
from shopmesh.launcher import Launcher, ServiceSpec

log = logging.getLogger("bench")
BENCH_DIR = Path(__file__).resolve().parents[1]
CONNECTIONS = 64


def _nginx(ctx: Context, role: str, port: int, upstream: str, *, access_log: bool) -> None:
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
    infra.spawn(
        ctx.cleanup,
        f"nginx-{role}",
        ["nginx", "-p", str(state), "-c", str(state / "nginx.conf")],
        log_path=state / "stdout.log",
    )


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
    _nginx(ctx, "proxy", proxy_port, f"127.0.0.1:{up_port}", access_log=True)
    gateway, gateway_pid = _gateway(ctx, f"http://127.0.0.1:{up_port}")
    forwarder, forwarder_pid = _forwarder(ctx, f"http://127.0.0.1:{up_port}")
    proxies = {"forwarder": forwarder_pid, "gateway": gateway_pid}
    auth = {"Authorization": f"Bearer {ctx.token_for(4242)}"}
    targets = {
        "direct": (f"http://127.0.0.1:{up_port}/json", {}),
        "nginx": (f"http://127.0.0.1:{proxy_port}/bench/json", {}),
        # The same request as the gateway's, token included (passed on, never checked).
        "forwarder": (f"{forwarder}/bench/json", auth),
        "gateway": (f"{gateway}/bench/json", auth),
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
    rate = max(50.0, gateway_max / 2)
    # At half the gateway's maximum (the target), then at a quarter of it: how much the
    # gateway adds once it has room to spare.
    plan = [(name, name, rate) for name in ("direct", "forwarder", "gateway")]
    plan += [(f"{name}_quarter", name, rate / 2) for name in ("direct", "gateway")]
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
    return _report(closed, open_runs, rate)


class _ProxyCpu:
    """The CPU time one proxy process spent during a run (nothing for the other paths)."""

    def __init__(self, pid: int | None) -> None:
        self._pid = pid
        self._started = (0.0, 0.0)  # the process's CPU seconds and the clock, at the start
        self._cpu = self._wall = 0.0  # what the run took of each

    def __enter__(self) -> _ProxyCpu:
        if self._pid is not None:
            self._started = (cpu_seconds([self._pid]), time.monotonic())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pid is not None:
            self._cpu = cpu_seconds([self._pid]) - self._started[0]
            self._wall = time.monotonic() - self._started[1]

    def figures(self, requests: float, *, busy: bool = False) -> dict[str, float]:
        """CPU µs per request and, with ``busy``, the share of one core it kept busy."""
        if self._pid is None or not requests:
            return {}
        figures = {"cpu_us_per_req": round(self._cpu / requests * 1e6, 1)}
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


def _report(
    closed: dict[str, list[dict[str, Any]]], open_runs: dict[str, list[dict[str, Any]]], rate: float
) -> dict[str, Any]:
    figures = {name: spread(runs) for name, runs in closed.items()}
    ratios, added = _ratios(closed, "gateway"), _added(open_runs, "gateway")
    open_figures = {f"open_loop_{name}": spread(runs) for name, runs in open_runs.items()}
    ratio = statistics.median(ratios)
    added_p99 = statistics.median(added)
    return {
        "title": "Gateway overhead (tiny JSON upstream; wrk -t1 -c64; open loop at a half and a "
        "quarter of the max)",
        "figures": {**figures, **open_figures},
        "derived": {
            "gateway_over_nginx_req_ratio": median_spread(ratios),
            "forwarder_over_nginx_req_ratio": median_spread(_ratios(closed, "forwarder")),
            "open_loop_rate_per_s": round(rate, 1),
            "p99_added_by_gateway_ms": median_spread(added, 2),
            "p99_added_by_forwarder_ms": median_spread(_added(open_runs, "forwarder"), 2),
            "open_loop_quarter_rate_per_s": round(rate / 2, 1),
            "p99_added_by_gateway_at_quarter_ms": median_spread(
                _added(open_runs, "gateway_quarter", direct="direct_quarter"), 2
            ),
            # What the proxies cost, and how busy each test rate kept the gateway.
            **{
                f"{path}_cpu_us_per_req_{loop}": median_spread(
                    _values(runs[path], "cpu_us_per_req"), 1
                )
                for loop, runs in (("wrk", closed), ("open_loop", open_runs))
                for path in ("forwarder", "gateway")
            },
            "gateway_busy_at_half": median_spread(_values(open_runs["gateway"], "busy")),
            "gateway_busy_at_quarter": median_spread(_values(open_runs["gateway_quarter"], "busy")),
        },
        "targets": [
            {"name": "gateway req/s ≥ 0.20 × nginx", "value": round(ratio, 3), "met": ratio >= 0.2},
            {
                "name": "p99 added by the gateway at half its max rate ≤ 2 ms",
                "value": round(added_p99, 2),
                "met": added_p99 <= 2.0,
            },
        ],
        "runs": {"closed_loop": closed, "open_loop": open_runs},
    }


def _ratios(runs: dict[str, list[dict[str, Any]]], path: str) -> list[float]:
    """``path``'s req/s over nginx's, repeat by repeat (measured side by side)."""
    return [
        run["req_per_s"] / nginx["req_per_s"]
        for run, nginx in zip(runs[path], runs["nginx"], strict=True)
        if nginx["req_per_s"]
    ]


def _values(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [run[key] for run in runs if key in run]


def _added(
    runs: dict[str, list[dict[str, Any]]], path: str, *, direct: str = "direct"
) -> list[float]:
    """The p99 ``path`` adds to the ``direct`` one (same rate), repeat by repeat."""
    return [
        run["p99_ms"] - alone["p99_ms"] for run, alone in zip(runs[path], runs[direct], strict=True)
    ]
