"""Helpers for the deployment tests: the repository's deploy files and what the code reads."""

from __future__ import annotations

import functools
import importlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings

from shopmesh.catalog import PRODUCED
from shopmesh.launcher import SERVICES, ServiceSpec

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")

SPECS: dict[str, ServiceSpec] = {spec.name: spec for spec in SERVICES}
# The Python services (one image, one console script each); "web" is nginx in the images.
PYTHON_SERVICES = tuple(name for name in SPECS if name != "web")

_SETTINGS_CLASSES = {"gateway": "shopmesh.gateway.settings:GatewaySettings"}


def settings_class(service: str) -> type[BaseSettings]:
    module, _, name = _SETTINGS_CLASSES.get(
        service, f"shopmesh.{service}.settings:Settings"
    ).partition(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), name)
    assert issubclass(cls, BaseSettings)
    return cls


@functools.cache
def env_names(service: str) -> frozenset[str]:
    """Every environment variable ``service``'s settings read (upper case)."""
    cls = settings_class(service)
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        choices: list[Any]
        if isinstance(alias, AliasChoices):
            choices = list(alias.choices)
        elif alias is None:
            choices = [f"{prefix}{field_name}"]
        else:
            choices = [alias]
        names.update(c.upper() for c in choices if isinstance(c, str))
        assert not any(isinstance(c, AliasPath) for c in choices), field_name
    return frozenset(names)


def event_topics() -> set[str]:
    """The topics the services' typed events are published to (the event catalogue)."""
    return {event.topic for event in PRODUCED}


def consumed_topics() -> dict[str, set[str]]:
    """Topic -> the services consuming it (with their own consumer group), from settings."""
    consumers: dict[str, set[str]] = {}
    for service in PYTHON_SERVICES:
        settings = settings_class(service)()
        for field in ("topic", "user_events_topic", "order_events_topic", "payment_events_topic"):
            value = getattr(settings, field, None)
            if isinstance(value, str):
                consumers.setdefault(value, set()).add(service)
    return consumers


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail(
            "kubectl is missing: run scripts/k8s-tools.sh (installs Debian's kubernetes-client)"
        )
    return path


@functools.cache
def _kustomize(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def kustomize(overlay: str) -> list[dict[str, Any]]:
    """The overlay's manifests as ``kubectl kustomize`` builds them."""
    return list(_kustomize(overlay))


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}
