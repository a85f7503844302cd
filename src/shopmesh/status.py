"""``shopmesh status``: each service's readiness, instances, outbox backlog and consumer lag.

Readiness comes from ``/ready``, the instances from the registry (when it
answers) and the backlog and lag from each service's own ``/metrics``, so the
command shows what Prometheus would, without needing Prometheus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from shopmesh.kit.registry.client import RegistryClient, RegistryError
from shopmesh.kit.settings import ServiceSettings

BACKLOG = "shopmesh_outbox_backlog"
LAG = "shopmesh_consumer_lag"
_TIMEOUT = aiohttp.ClientTimeout(total=2)


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """What ``status`` learnt about one service (``None``: could not tell)."""

    name: str
    url: str
    ready: bool
    instances: int | None = None
    outbox_backlog: float | None = None
    consumer_lag: float | None = None


def metric_totals(exposition: str, names: frozenset[str]) -> dict[str, float]:
    """The sum over all label sets of each series in ``names`` found in a Prometheus text body.

    A series that is declared but has no sample yet is absent from the answer;
    an unparsable body gives an empty answer.
    """
    totals: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(exposition):
            for sample in family.samples:
                if sample.name in names:
                    totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    except ValueError:
        return {}
    return totals


async def collect(
    urls: Mapping[str, str], *, registry: ServiceSettings | None = None
) -> list[ServiceStatus]:
    """Ask every service (and the registry, when ``registry.registry_url`` is set)."""
    instances = await registered_instances(registry) if registry is not None else None
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        probes = [_probe(session, name, url, instances) for name, url in urls.items()]
        return list(await asyncio.gather(*probes))


async def registered_instances(settings: ServiceSettings) -> dict[str, int] | None:
    """Live instances per service from the registry; ``None`` when it cannot be asked."""
    if not settings.registry_url:
        return None
    client = RegistryClient(settings)
    try:
        services = await client.services()
    except RegistryError:
        return None
    finally:
        await client.close()
    return {name: len(items) for name, items in services.items()}


def render(statuses: list[ServiceStatus], pids: Mapping[str, int | None]) -> str:
    """The table ``shopmesh status`` prints."""
    lines = [
        f"{'service':<12}{'pid':>8}  {'url':<26}{'ready':<7}{'instances':>10}"
        f"{'backlog':>9}{'lag':>7}"
    ]
    for s in statuses:
        lines.append(
            f"{s.name:<12}{pids.get(s.name) or '-':>8}  {s.url:<26}"
            f"{'yes' if s.ready else 'NO':<7}{_show(s.instances):>10}"
            f"{_show(s.outbox_backlog):>9}{_show(s.consumer_lag):>7}"
        )
    return "\n".join(lines)


async def _probe(
    session: aiohttp.ClientSession, name: str, url: str, instances: Mapping[str, int] | None
) -> ServiceStatus:
    ready_status, _ = await _get(session, url + "/ready")
    metrics_status, body = await _get(session, url + "/metrics")
    totals = metric_totals(body, frozenset({BACKLOG, LAG})) if metrics_status == 200 else {}
    return ServiceStatus(
        name=name,
        url=url,
        ready=ready_status == 200,
        instances=instances.get(name, 0) if instances is not None else None,
        outbox_backlog=totals.get(BACKLOG),
        consumer_lag=totals.get(LAG),
    )


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int | None, str]:
    try:
        async with session.get(url) as response:
            return response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError):
        return None, ""


def _show(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if value == int(value) else f"{value:.1f}"
