"""deploy/k8s: every overlay builds, validates offline, and matches what the code expects."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.manifests import (
    OVERLAYS,
    PYTHON_SERVICES,
    REPO,
    SPECS,
    consumed_topics,
    env_names,
    event_topics,
    kustomize,
    of_kind,
)

K8S_VERSION = "1.30.0"
# Custom resources of the operators (Strimzi, CloudNativePG): not in Kubernetes' schemas.
CUSTOM_KINDS = {"Kafka", "KafkaNodePool", "KafkaTopic", "Cluster"}
# No registry in Kubernetes: Services' DNS names are static (SHOPMESH_SERVICE_URLS).
DEPLOYED = tuple(name for name in SPECS if name != "registry")
SCALED = ("gateway", "orders", "payments")


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def docs(overlay: str) -> list[dict[str, Any]]:
    return kustomize(overlay)


def test_built_in_kinds_validate_against_the_kubernetes_schemas(
    docs: list[dict[str, Any]],
) -> None:
    checked = 0
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        checked += 1
    assert checked > 20


def test_every_service_has_a_deployment_and_a_service_on_its_port(
    docs: list[dict[str, Any]],
) -> None:
    deployments = of_kind(docs, "Deployment")
    services = of_kind(docs, "Service")
    assert set(deployments) == set(DEPLOYED)
    for name in DEPLOYED:
        port = SPECS[name].port
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["ports"][0]["containerPort"] == port, name
        assert services[name]["spec"]["ports"][0]["port"] == port, name
        selector = services[name]["spec"]["selector"]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
        if name != "web":
            assert container["command"] == [SPECS[name].command], name


def test_every_deployment_is_probed_limited_and_non_root(docs: list[dict[str, Any]]) -> None:
    for name, deployment in of_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        for container in pod["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"] == "/ready", name
            assert container["livenessProbe"]["httpGet"]["path"] == "/health", name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            tmp = "/tmp"  # noqa: S108 (an emptyDir, the only writable path)
            assert tmp in mounts, f"{name}: a read-only root needs a writable {tmp}"


def _configmaps_and_secrets(docs: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    keys = {}
    for kind in ("ConfigMap", "Secret"):
        for name, doc in of_kind(docs, kind).items():
            keys[(kind, name)] = set(doc.get("data", {})) | set(doc.get("stringData", {}))
    return keys


def test_every_variable_given_is_one_the_service_reads(
    overlay: str, docs: list[dict[str, Any]]
) -> None:
    available = _configmaps_and_secrets(docs)
    for name, deployment in of_kind(docs, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        given = {env["name"] for env in container.get("env", [])}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                ref = ("ConfigMap", source["configMapRef"]["name"])
            else:
                ref = ("Secret", source["secretRef"]["name"])
            assert ref in available, f"{name}: {ref} is not part of the {overlay} overlay"
            given |= available[ref]
        for env in container.get("env", []):
            secret = env.get("valueFrom", {}).get("secretKeyRef")
            if secret and ("Secret", secret["name"]) in available:
                assert secret["key"] in available[("Secret", secret["name"])], (name, secret)
        unknown = {var for var in given if var.upper() not in env_names(name)}
        assert not unknown, f"{name} is given variables it never reads: {sorted(unknown)}"


def test_services_find_each_other_by_their_kubernetes_names(docs: list[dict[str, Any]]) -> None:
    config = of_kind(docs, "ConfigMap")
    shared = next(doc for name, doc in config.items() if name.startswith("shopmesh-config"))
    urls = json.loads(shared["data"]["SHOPMESH_SERVICE_URLS"])
    assert urls == {
        name: f"http://{name}:{SPECS[name].port}" for name in PYTHON_SERVICES if name != "registry"
    }
    kafka = of_kind(docs, "Kafka")
    (cluster,) = kafka
    assert shared["data"]["SHOPMESH_KAFKA_BOOTSTRAP"] == f"{cluster}-kafka-bootstrap:9092"
    assert "SHOPMESH_REGISTRY_URL" not in shared["data"]


def test_the_busy_services_scale_and_survive_disruptions(docs: list[dict[str, Any]]) -> None:
    deployments = of_kind(docs, "Deployment")
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    budgets = of_kind(docs, "PodDisruptionBudget")
    for name in SCALED:
        assert deployments[name]["spec"]["replicas"] > 1, name
        hpa = autoscalers[name]["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 < hpa["minReplicas"] <= hpa["maxReplicas"], name
        pdb = budgets[name]["spec"]
        assert pdb["minAvailable"] < hpa["minReplicas"], name
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["selector"]["matchLabels"].items() <= labels.items(), name


def test_prod_raises_replicas_and_resources() -> None:
    dev, prod = (of_kind(kustomize(overlay), "Deployment") for overlay in ("dev", "prod"))
    for name in DEPLOYED:
        assert prod[name]["spec"]["replicas"] >= dev[name]["spec"]["replicas"], name
    assert prod["gateway"]["spec"]["replicas"] > dev["gateway"]["spec"]["replicas"]
    dev_hpa, prod_hpa = (
        of_kind(kustomize(overlay), "HorizontalPodAutoscaler") for overlay in ("dev", "prod")
    )
    for name in SCALED:
        assert prod_hpa[name]["spec"]["maxReplicas"] > dev_hpa[name]["spec"]["maxReplicas"]
    (dev_db,) = of_kind(kustomize("dev"), "Cluster").values()
    (prod_db,) = of_kind(kustomize("prod"), "Cluster").values()
    assert prod_db["spec"]["instances"] >= 3 > dev_db["spec"]["instances"]


def test_the_ingress_serves_the_ui_and_the_gateway(docs: list[dict[str, Any]]) -> None:
    (ingress,) = of_kind(docs, "Ingress").values()
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"web", "gateway"}


def test_kafka_has_three_kraft_nodes(docs: list[dict[str, Any]]) -> None:
    (kafka,) = of_kind(docs, "Kafka").values()
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert kafka["metadata"]["annotations"]["strimzi.io/node-pools"] == "enabled"
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert "zookeeper" not in kafka["spec"]
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert any(listener["port"] == 9092 and listener["tls"] is False for listener in listeners)
    config = kafka["spec"]["kafka"]["config"]
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["transaction.state.log.replication.factor"] == 3
    pools = of_kind(docs, "KafkaNodePool").values()
    cluster = kafka["metadata"]["name"]
    ours = [pool for pool in pools if pool["metadata"]["labels"]["strimzi.io/cluster"] == cluster]
    assert sum(pool["spec"]["replicas"] for pool in ours if "broker" in pool["spec"]["roles"]) >= 3
    assert (
        sum(pool["spec"]["replicas"] for pool in ours if "controller" in pool["spec"]["roles"]) >= 3
    )
    for pool in ours:
        assert pool["spec"]["storage"]["type"] in {"jbod", "persistent-claim"}


def test_topics_match_the_code_and_fit_their_consumers(docs: list[dict[str, Any]]) -> None:
    (kafka,) = of_kind(docs, "Kafka")
    topics = {
        doc["spec"].get("topicName", name): doc for name, doc in of_kind(docs, "KafkaTopic").items()
    }
    produced = event_topics()
    assert produced == {"transactions", "user-events", "order-events", "payment-events"}
    consumers = consumed_topics()
    assert set(consumers) <= produced
    assert set(topics) == produced | {f"{topic}.dlq" for topic in produced}
    deployments = of_kind(docs, "Deployment")
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    for topic, doc in topics.items():
        spec = doc["spec"]
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == kafka, topic
        assert spec["replicas"] == 3, topic
        assert spec["config"]["min.insync.replicas"] == 2, topic
        for service in consumers.get(topic, set()) | (
            {"orders", "dispatcher", "products"} if topic == "order-events" else set()
        ):
            most = max(
                deployments[service]["spec"]["replicas"],
                autoscalers.get(service, {}).get("spec", {}).get("maxReplicas", 0),
            )
            assert spec["partitions"] >= most, (topic, service)


def test_postgres_creates_a_database_for_every_service_that_has_one(
    docs: list[dict[str, Any]],
) -> None:
    (cluster,) = of_kind(docs, "Cluster").values()
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["imageName"].rsplit(":", 1)[-1].startswith("15")
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    owner = initdb["owner"]
    created = {
        statement.split()[2]
        for statement in initdb["postInitApplicationSQL"]
        if statement.upper().startswith("CREATE DATABASE")
    }
    expected = {name for name, spec in SPECS.items() if spec.database}
    assert created == expected
    for statement in initdb["postInitApplicationSQL"]:
        assert statement.endswith(f"OWNER {owner}"), statement
    assert cluster["spec"]["storage"]["size"]
    assert initdb["secret"]["name"]


def test_dev_secrets_point_the_services_at_the_postgres_cluster() -> None:
    docs = kustomize("dev")
    secrets = of_kind(docs, "Secret")
    (cluster_name,) = of_kind(docs, "Cluster")
    cluster = of_kind(docs, "Cluster")[cluster_name]
    owner_secret = secrets[cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"]]

    def decode(secret: dict[str, Any], key: str) -> str:
        return base64.b64decode(secret["data"][key]).decode()

    template = decode(secrets["shopmesh-secrets"], "SHOPMESH_DATABASE_URL_TEMPLATE")
    user, password = decode(owner_secret, "username"), decode(owner_secret, "password")
    assert template == (
        f"postgresql+asyncpg://{user}:{password}@{cluster_name}-rw:5432/{{service}}"
    )


def test_the_dev_overlay_runs_the_images_make_test_containers_builds_and_runs() -> None:
    built = dict(
        re.findall(
            r'^\s*build (shopmesh(?:-web)?:dev) "\$REPO/deploy/([\w.]+)"',
            (REPO / "scripts" / "containers.sh").read_text(),
            re.MULTILINE,
        )
    )
    assert built == {"shopmesh:dev": "Dockerfile", "shopmesh-web:dev": "web.Dockerfile"}
    images = {
        container["image"]
        for deployment in of_kind(kustomize("dev"), "Deployment").values()
        for container in deployment["spec"]["template"]["spec"]["containers"]
    }
    assert images == set(built)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    for service in compose.values():
        if "build" in service:
            image = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", service["image"])
            assert built[image] == service["build"]["dockerfile"].removeprefix("deploy/")
