"""HTTP API of the registry, under ``/api/registry``; every call needs the registry token."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from shopmesh.kit.app import Dependency
from shopmesh.kit.errors import Unauthorized
from shopmesh.kit.jwt import bearer_token
from shopmesh.registry.domain import (
    INSTANCE_ID,
    SERVICE_NAME,
    Instance,
    InstanceTable,
    is_http_url,
    metadata_problem,
)
from shopmesh.registry.settings import Settings

log = logging.getLogger(__name__)


def _http_url(value: str) -> str:
    if not is_http_url(value):
        raise ValueError("must be an absolute http(s) URL")
    return value


def _flat_metadata(value: dict[str, str]) -> dict[str, str]:
    problem = metadata_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


ServiceName = Annotated[str, Field(pattern="^" + SERVICE_NAME.pattern + "$")]
InstanceId = Annotated[str, Field(pattern="^" + INSTANCE_ID.pattern + "$")]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
ServicePath = Annotated[str, Path(pattern="^" + SERVICE_NAME.pattern + "$")]
InstancePath = Annotated[str, Path(pattern="^" + INSTANCE_ID.pattern + "$")]


class InstanceCreate(BaseModel):
    """An instance announcing itself; registering a live id again refreshes it."""

    service: ServiceName = Field(examples=["orders"])
    instance_id: InstanceId = Field(examples=["orders-10.0.0.5-8086-3fa9c1"])
    url: HttpUrl = Field(examples=["http://10.0.0.5:8086"])
    health_url: HttpUrl = Field(examples=["http://10.0.0.5:8086/ready"])
    metadata: Annotated[dict[str, str], AfterValidator(_flat_metadata)] = Field(
        default_factory=dict, description="Flat string pairs, at most 20."
    )


class InstancePublic(BaseModel):
    service: str
    instance_id: str
    url: str
    health_url: str
    metadata: dict[str, str]
    registered_at: datetime
    last_heartbeat_at: datetime

    @classmethod
    def of(cls, instance: Instance) -> InstancePublic:
        return cls(
            service=instance.service,
            instance_id=instance.instance_id,
            url=instance.url,
            health_url=instance.health_url,
            metadata=dict(instance.metadata),
            registered_at=datetime.fromtimestamp(instance.registered_at, UTC),
            last_heartbeat_at=datetime.fromtimestamp(instance.last_heartbeat_at, UTC),
        )


SettingsDependency = Dependency[Settings]("settings")
TableDependency = Dependency[InstanceTable]("instances")
Table = Annotated[InstanceTable, Depends(TableDependency)]


async def require_registry_token(
    request: Request, settings: Annotated[Settings, Depends(SettingsDependency)]
) -> None:
    """Only holders of the platform's registry token may read or change the table."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("registry token required")
    expected = settings.registry_token.encode()
    if not hmac.compare_digest(token.encode(), expected):
        raise Unauthorized("invalid registry token", code="invalid_token")


router = APIRouter(
    prefix="/api/registry",
    tags=["registry"],
    dependencies=[Depends(require_registry_token)],
)


@router.post("/instances", status_code=201)
async def register(body: InstanceCreate, table: Table, response: Response) -> InstancePublic:
    """Register an instance (201), or refresh one already registered under that id (200)."""
    instance, created = table.register(
        body.service,
        body.instance_id,
        url=body.url,
        health_url=body.health_url,
        metadata=body.metadata,
    )
    if created:
        log.info(
            "instance registered",
            extra={"of_service": body.service, "instance": body.instance_id, "url": instance.url},
        )
    else:
        response.status_code = 200
    return InstancePublic.of(instance)


@router.put("/instances/{service}/{instance_id}/heartbeat")
async def heartbeat(
    service: ServicePath, instance_id: InstancePath, table: Table
) -> InstancePublic:
    """Keep an instance alive; 404 ``unknown_instance`` tells it to register again."""
    return InstancePublic.of(table.heartbeat(service, instance_id))


@router.delete("/instances/{service}/{instance_id}", status_code=204)
async def deregister(service: ServicePath, instance_id: InstancePath, table: Table) -> Response:
    """Remove an instance (it is shutting down)."""
    table.deregister(service, instance_id)
    log.info("instance deregistered", extra={"of_service": service, "instance": instance_id})
    return Response(status_code=204)


@router.get("/services")
async def all_services(table: Table) -> dict[str, list[InstancePublic]]:
    """Every service with live instances, and those instances."""
    return {
        service: [InstancePublic.of(i) for i in instances]
        for service, instances in table.all_live().items()
    }


@router.get("/services/{service}")
async def service_instances(service: ServicePath, table: Table) -> list[InstancePublic]:
    """The live instances of one service (an empty array when it has none)."""
    return [InstancePublic.of(i) for i in table.live(service)]
