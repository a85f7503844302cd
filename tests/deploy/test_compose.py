"""docker-compose.yml, the images and the PostgreSQL init script, checked without Docker."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from shopmesh.kit.settings import ServiceSettings
from tests.deploy.manifests import DEPLOY, PYTHON_SERVICES, REPO, SPECS, env_names, settings_class

COMPOSE = REPO / "docker-compose.yml"
INFRASTRUCTURE = {"postgres", "kafka", "redis"}
# Where the web image's entrypoint writes config.js (an emptyDir in Kubernetes).
CONFIG_DIR = "/tmp/shopmesh"  # noqa: S108


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _published_ports(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Container port -> (the variable that moves it on the host, its default host port)."""
    published = {}
    for port in service.get("ports", []):
        host, _, container = str(port).rpartition(":")
        match = re.fullmatch(r"\$\{(\w+):-(\d+)\}", host)
        assert match, f"host port {host!r} must be a ${{VARIABLE:-default}}"
        published[int(container)] = (match.group(1), int(match.group(2)))
    return published


def test_every_launcher_service_is_in_compose_with_its_port(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(SPECS) | INFRASTRUCTURE == set(services)
    for name, spec in SPECS.items():
        variable = f"SHOPMESH_{name.upper()}_PORT"
        assert _published_ports(services[name]) == {spec.port: (variable, spec.port)}, name


def test_every_published_port_moves_with_a_variable_of_its_own(
    services: dict[str, dict[str, Any]],
) -> None:
    variables = [
        variable
        for service in services.values()
        for variable, _default in _published_ports(service).values()
    ]
    assert len(variables) == len(set(variables))
    kafka = _environment(services["kafka"])
    # Tools on the host reach Kafka where it is published: the advertised port moves with it.
    assert "HOST://localhost:${SHOPMESH_KAFKA_PORT:-29092}" in kafka["KAFKA_ADVERTISED_LISTENERS"]


def test_python_services_run_their_own_command_from_the_one_image(
    services: dict[str, dict[str, Any]],
) -> None:
    images = set()
    for name in PYTHON_SERVICES:
        service = services[name]
        assert service["command"] == [SPECS[name].command], name
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        images.add(service["image"])
    assert len(images) == 1
    assert services["web"]["build"]["dockerfile"] == "deploy/web.Dockerfile"


@pytest.mark.parametrize("name", [*PYTHON_SERVICES, "web"])
def test_every_variable_given_is_one_the_service_reads(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    given = set(_environment(services[name]))
    unknown = {var for var in given if var.upper() not in env_names(name)}
    assert not unknown, f"{name} is given variables it never reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_services_listen_on_all_interfaces_and_their_port(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = _environment(services[name])
    prefix = SPECS[name].env_prefix
    assert env[f"{prefix}_HOST"] == "0.0.0.0"
    assert int(env[f"{prefix}_PORT"]) == SPECS[name].port
    if name != "registry":
        assert env["SHOPMESH_ADVERTISE_HOST"] == name
        assert env["SHOPMESH_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["SHOPMESH_REGISTRY_URL"] == f"http://registry:{SPECS['registry'].port}"


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_the_settings_accept_the_compose_environment(
    services: dict[str, dict[str, Any]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(services[name])
    for key, value in env.items():
        # ${VAR:-default} -> default, as compose does when VAR is unset.
        monkeypatch.setenv(key, re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value))
    settings = settings_class(name)()
    assert isinstance(settings, ServiceSettings)
    assert settings.port == SPECS[name].port
    assert settings.host == "0.0.0.0"
    if SPECS[name].database:
        url = settings.db_url
        assert url.startswith("postgresql+asyncpg://"), url
        assert url.endswith(f"@postgres:5432/{name}"), url
    if name != "registry":
        expected = {svc: f"http://{svc}:{SPECS[svc].port}" for svc in PYTHON_SERVICES}
        assert settings.service_urls == expected


def test_the_gateway_shares_rate_limits_through_redis(
    services: dict[str, dict[str, Any]],
) -> None:
    assert _environment(services["gateway"])["SHOPMESH_REDIS_URL"].startswith("redis://redis:")
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_the_init_script_creates_a_database_for_every_service_that_has_one() -> None:
    script = (DEPLOY / "postgres" / "init-databases.sh").read_text()
    match = re.search(r'^DATABASES="([^"]*)"', script, re.MULTILINE)
    assert match, "init-databases.sh must set DATABASES"
    expected = {name for name, spec in SPECS.items() if spec.database}
    assert set(match.group(1).split()) == expected
    result = subprocess.run(
        ["bash", "-n", str(DEPLOY / "postgres" / "init-databases.sh")], check=False
    )
    assert result.returncode == 0


def test_postgres_mounts_the_init_script_and_is_version_15(
    services: dict[str, dict[str, Any]],
) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert any(
        "deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/" in str(volume)
        for volume in postgres["volumes"]
    )
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_kafka_is_a_single_kraft_node_with_an_internal_listener(
    services: dict[str, dict[str, Any]],
) -> None:
    kafka = services["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka"
    assert tuple(int(part) for part in tag.split(".")[:2]) >= (3, 7)
    env = _environment(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "CONTROLLER" not in env["KAFKA_ADVERTISED_LISTENERS"]
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", key
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    # Kafka's storage tool refuses any other cluster id: base64url of a 16-byte UUID.
    cluster_id = env["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, cluster_id
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])


def test_health_checks_and_start_order(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "healthcheck" in service, name
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            assert condition == {"condition": "service_healthy"}, (name, dependency)
    for name in PYTHON_SERVICES:
        assert services[name]["healthcheck"]["test"][-1] == "/ready", name
        if SPECS[name].database:
            assert {"postgres", "kafka", "registry"} <= set(services[name]["depends_on"]), name
    assert set(services["gateway"]["depends_on"]) >= set(PYTHON_SERVICES) - {"gateway"}


def test_stateful_services_use_named_volumes(compose: dict[str, Any]) -> None:
    volumes = set(compose["volumes"])
    for name in INFRASTRUCTURE:
        named = {str(v).split(":", 1)[0] for v in compose["services"][name]["volumes"]}
        assert named & volumes, name


def test_the_python_image_is_multi_stage_non_root_with_a_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    assert "uv sync --frozen --no-dev" in text
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users, "no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.MULTILINE)
    assert re.search(r'^CMD \["shopmesh-\w+"\]', text, re.MULTILINE)
    for name in PYTHON_SERVICES:
        assert str(SPECS[name].port) in text, f"port of {name} not documented/exposed"


def test_the_web_image_serves_the_build_with_a_runtime_config() -> None:
    text = (DEPLOY / "web.Dockerfile").read_text()
    assert "npm ci" in text
    assert "npm run build" in text
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in text
    conf = (DEPLOY / "web" / "nginx.conf").read_text()
    assert "listen 3000" in conf
    assert "try_files $uri $uri/ /index.html" in conf
    assert "location = /config.js" in conf


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        ("", "window.SHOPMESH_CONFIG = {};\n"),
        (
            "https://api.example.com/",
            'window.SHOPMESH_CONFIG = {"apiBase": "https://api.example.com"};\n',
        ),
    ],
)
def test_the_web_entrypoint_writes_config_js(tmp_path: Any, api_base: str, expected: str) -> None:
    script = (DEPLOY / "web" / "40-shopmesh-config.sh").read_text()
    local = tmp_path / "config.sh"
    local.write_text(script.replace(CONFIG_DIR, str(tmp_path / "out")))
    subprocess.run(["sh", str(local)], check=True, env={"WEB_API_BASE": api_base})
    assert (tmp_path / "out" / "config.js").read_text() == expected


def test_the_web_entrypoint_refuses_a_bad_api_base(tmp_path: Any) -> None:
    script = (DEPLOY / "web" / "40-shopmesh-config.sh").read_text()
    local = tmp_path / "config.sh"
    local.write_text(script.replace(CONFIG_DIR, str(tmp_path / "out")))
    for bad in ['https://x"y', "javascript:alert(1)"]:
        result = subprocess.run(
            ["sh", str(local)], check=False, capture_output=True, env={"WEB_API_BASE": bad}
        )
        assert result.returncode != 0, bad


def test_the_image_health_check_knows_every_port() -> None:
    sys.path.insert(0, str(DEPLOY))
    try:
        import healthcheck
    finally:
        sys.path.remove(str(DEPLOY))
    assert {name: spec.port for name, spec in SPECS.items()} == healthcheck.DEFAULT_PORTS
    assert healthcheck.service_name(
        ["/app/.venv/bin/python", "/app/.venv/bin/shopmesh-orders"]
    ) == ("orders")
    assert healthcheck.service_name(["python", "-m", "something"]) is None
