"""The Kubernetes manifests, rendered and checked offline.

Every overlay is built with kustomize (``sportello_deploy.kustomize`` builds the pinned release with
Go), every object is validated strictly against the Kubernetes OpenAPI schemas that
kubernetes-validate ships, KEDA's ScaledObjects against our own strict schema, and the manifests are
checked against the code: probe paths and ports exist, env vars are real settings, every worker's
scaler follows exactly the consumer groups and topics the service subscribes to.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from sportello.runtime import Component, Context, create_app
from sportello.settings import ServiceSettings
from sportello.topics import ALL_TOPICS, Groups
from sportello_deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.30"
KEDA_SCHEMA = json.loads((ROOT / "deploy" / "schemas" / "keda.sh_v1alpha1_ScaledObject.json").read_text())
SERVICES = {"ingest": "sportello_ingest", "priority": "sportello_priority",
            "assignment": "sportello_assignment", "crm-sync": "sportello_crm_sync",
            "gateway": "sportello_gateway"}
EXPOSED = {"ingest", "gateway"}
Obj = dict[str, Any]


def component(service: str) -> Component:
    module = importlib.import_module(f"{SERVICES[service]}.component")
    found: Component = module.COMPONENT
    return found


def setting_names(cls: type[ServiceSettings]) -> set[str]:
    return {f"SPORTELLO_{name.upper()}" for name in cls.model_fields}


def subscriptions_of(service: str) -> set[tuple[str, str]]:
    """(consumer group, topic) pairs the service really consumes, from its own code."""
    comp = component(service)
    ctx = Context(name=comp.name, settings=comp.settings_cls(), db=None, bus=None,  # type: ignore[arg-type]
                  relay=None)  # type: ignore[arg-type]
    return {(sub.group, topic.name) for sub in comp.subscriptions(ctx) for topic in sub.topics}


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    return request.param, render(ROOT / "k8s" / "overlays" / request.param)


def of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(obj: Obj) -> list[Obj]:
    spec = obj["spec"]["template"]["spec"] if obj["kind"] != "CronJob" else \
        obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def workloads(objects: list[Obj]) -> Iterator[Obj]:
    yield from (o for o in objects if o["kind"] in ("Deployment", "Job", "StatefulSet"))


def pod_labels(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = obj["spec"]["template"]["metadata"].get("labels", {})
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels", selector)
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def command_of(container: Obj) -> list[str]:
    words = [*container.get("command", []), *container.get("args", [])]
    if words[:2] == ["sh", "-c"] or words[:2] == ["/bin/sh", "-c"]:
        return shlex.split(" ".join(words[2:]))
    return words


# -- schemas ---------------------------------------------------------------------------------------

def test_every_object_is_valid_kubernetes(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    assert objects, f"{name} renders nothing"
    for obj in objects:
        if obj["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {exc.message} "
                                 f"at {list(exc.path)}") from exc


def test_keda_objects_match_the_keda_schema(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    scaled = [o for o in objects if o["apiVersion"].startswith("keda.sh/")]
    assert scaled, f"{name} has no KEDA ScaledObject"
    for obj in scaled:
        jsonschema.validate(obj, KEDA_SCHEMA)


def test_the_keda_schema_is_strict_enough_to_catch_a_typo() -> None:
    good = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "w"},
            "spec": {"scaleTargetRef": {"name": "w"}, "triggers": [{"type": "kafka", "metadata": {
                "bootstrapServers": "k:9092", "consumerGroup": "g", "topic": "t",
                "lagThreshold": "50"}}]}}
    jsonschema.validate(good, KEDA_SCHEMA)
    for broken in ({"lagTreshold": "50"}, {"lagThreshold": 50}, {"offsetResetPolicy": "oldest"}):
        bad = json.loads(json.dumps(good))
        bad["spec"]["triggers"][0]["metadata"].update(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, KEDA_SCHEMA)


# -- shape: what every service gets ----------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_api_and_worker_with_their_guards(overlay: tuple[str, list[Obj]],
                                                           service: str) -> None:
    _, objects = overlay
    deployments, pdbs = of_kind(objects, "Deployment"), of_kind(objects, "PodDisruptionBudget")
    for role in ("api", "worker"):
        deployment = deployments[f"sportello-{service}-{role}"]
        labels = pod_labels(deployment)
        assert labels["app.kubernetes.io/component"] == service
        assert labels["sportello.io/role"] == role
        assert selects(deployment["spec"]["selector"], labels)
        assert any(selects(pdb["spec"]["selector"], labels) for pdb in pdbs.values()), \
            f"no PodDisruptionBudget covers sportello-{service}-{role}"
    service_obj = of_kind(objects, "Service")[f"sportello-{service}"]
    assert selects(service_obj["spec"]["selector"], pod_labels(deployments[f"sportello-{service}-api"]))
    api_ports = {p["name"] for c in containers(deployments[f"sportello-{service}-api"])
                 for p in c.get("ports", [])}
    assert {p["targetPort"] for p in service_obj["spec"]["ports"]} <= api_ports | {8000}


def test_apis_scale_on_cpu_and_workers_on_lag_never_both(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    hpas = {o["spec"]["scaleTargetRef"]["name"]: o for o in of_kind(objects, "HorizontalPodAutoscaler").values()}
    keda = {o["spec"]["scaleTargetRef"]["name"]: o for o in of_kind(objects, "ScaledObject").values()}
    assert not set(hpas) & set(keda), "a Deployment scaled by KEDA must not also have an HPA"
    for service in SERVICES:
        api = hpas[f"sportello-{service}-api"]
        assert [m["resource"]["name"] for m in api["spec"]["metrics"]] == ["cpu"]
        worker = f"sportello-{service}-worker"
        if subscriptions_of(service):
            assert worker in keda, f"{worker} consumes Kafka: KEDA scales it on lag"
        else:
            assert worker in hpas, f"{worker} consumes nothing: scaled on CPU"


@pytest.mark.parametrize("service", SERVICES)
def test_worker_scalers_follow_exactly_the_groups_and_topics_the_service_consumes(
    overlay: tuple[str, list[Obj]], service: str,
) -> None:
    _, objects = overlay
    consumed = subscriptions_of(service)
    scalers = [o for o in of_kind(objects, "ScaledObject").values()
               if o["spec"]["scaleTargetRef"]["name"] == f"sportello-{service}-worker"]
    triggers = {(t["metadata"]["consumerGroup"], t["metadata"]["topic"])
                for o in scalers for t in o["spec"]["triggers"] if t["type"] == "kafka"}
    assert triggers == consumed
    groups = {v for k, v in vars(Groups).items() if k.isupper()}
    topics = {topic.name for topic in ALL_TOPICS}
    assert {g for g, _ in triggers} <= groups and {t for _, t in triggers} <= topics


def test_no_worker_can_outnumber_the_partitions_it_shares(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    partitions = partitions_provisioned(objects)
    for scaler in of_kind(objects, "ScaledObject").values():
        assert scaler["spec"]["maxReplicaCount"] <= partitions, (
            f"{scaler['metadata']['name']}: replicas beyond {partitions} partitions would idle")
        assert scaler["spec"].get("minReplicaCount", 0) >= 1  # outbox relays and sweeps run there


def partitions_provisioned(objects: list[Obj]) -> int:
    """SPORTELLO_KAFKA_PARTITIONS as the topics Job sees it (its env, or a ConfigMap it loads)."""
    job = of_kind(objects, "Job")["sportello-topics"]
    env = environment(objects, containers(job)[0])
    return int(env["SPORTELLO_KAFKA_PARTITIONS"])


# -- consistency with the code ---------------------------------------------------------------------

def environment(objects: list[Obj], container: Obj) -> dict[str, str]:
    """Every env var a container gets: its ``env`` and its ConfigMaps' and Secrets' keys."""
    maps, secrets = of_kind(objects, "ConfigMap"), of_kind(objects, "Secret")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
        elif "secretRef" in source:
            name = source["secretRef"]["name"]
            if name in secrets:
                env.update({k: "<secret>" for k in secrets[name].get("data", {})})
    env.update({e["name"]: e.get("value", "<ref>") for e in container.get("env", [])})
    return env


def service_of(obj: Obj) -> str | None:
    labels = obj["spec"]["template"]["metadata"].get("labels", {})
    component_label: str | None = labels.get("app.kubernetes.io/component")
    return component_label if component_label in SERVICES else None


def test_every_env_var_is_a_real_setting(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    every = set().union(*(setting_names(component(s).settings_cls) for s in SERVICES))
    for workload in workloads(objects):
        service = service_of(workload)
        own = setting_names(component(service).settings_cls) if service else every
        for container in containers(workload):
            for name in (e["name"] for e in container.get("env", [])):
                assert name in own, f"{workload['metadata']['name']}: {name} is no setting"
            for name in environment(objects, container):
                assert name in every, f"{workload['metadata']['name']}: {name} is no setting"
    for config in of_kind(objects, "ConfigMap").values():
        for name in config.get("data", {}):
            assert name in every, f"ConfigMap {config['metadata']['name']}: {name} is no setting"
    for secret in of_kind(objects, "Secret").values():
        for name in secret.get("data", {}) | secret.get("stringData", {}):
            assert name in every, f"Secret {secret['metadata']['name']}: {name} is no setting"


def test_secrets_never_sit_in_config_maps(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    secret_words = re.compile(r"TOKEN|SECRET|PASSWORD|DATABASE_URL|_KEY$")
    for config in of_kind(objects, "ConfigMap").values():
        leaked = [k for k in config.get("data", {}) if secret_words.search(k)]
        assert not leaked, f"ConfigMap {config['metadata']['name']} holds secrets: {leaked}"


def test_probes_and_ports_exist_in_the_service(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    for deployment in of_kind(objects, "Deployment").values():
        service = service_of(deployment)
        assert service is not None
        comp = component(service)
        settings = comp.settings_cls(bus="memory")
        app = create_app([comp], settings)
        paths = set(app.openapi()["paths"])
        for container in containers(deployment):
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            port = int(environment(objects, container).get("SPORTELLO_HTTP_PORT",
                                                            settings.http_port))
            assert port in ports.values(), f"{deployment['metadata']['name']} listens on {port}"
            for probe in ("livenessProbe", "readinessProbe"):
                http = container[probe]["httpGet"]
                assert http["path"] in paths, f"{deployment['metadata']['name']}: no {http['path']}"
                assert ports.get(http["port"], http["port"]) == port
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_commands_run_the_service_in_the_role_its_labels_say(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    for deployment in of_kind(objects, "Deployment").values():
        service, role = service_of(deployment), pod_labels(deployment)["sportello.io/role"]
        assert service is not None
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        words = command_of(container)
        assert words[:4] == ["python", "-m", SERVICES[service], "serve"], words
        assert words[words.index("--role") + 1] == role
        assert "--no-migrate" in words  # migrations are the Job's, never a racing pod's
        assert (ROOT / service / SERVICES[service] / "__main__.py").exists()


def test_the_jobs_migrate_every_schema_and_provision_the_topics(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    jobs = of_kind(objects, "Job")
    migrated = set()
    for words in (command_of(c) for c in containers(jobs["sportello-migrate"])):
        for i in range(len(words) - 2):  # "python -m <module> migrate", possibly chained with &&
            if words[i] == "-m" and words[i + 2] == "migrate":
                migrated.add(words[i + 1])
    assert migrated == set(SERVICES.values())
    topics = [command_of(c) for c in containers(jobs["sportello-topics"])]
    assert any("topics" in words for words in topics)


def test_every_container_is_bounded_and_unprivileged(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    for workload in workloads(objects):
        pod = workload["spec"]["template"]["spec"]
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), where
            security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("readOnlyRootFilesystem") is True, where


def test_only_the_gateway_and_ingest_are_reachable_from_outside(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    policies = of_kind(objects, "NetworkPolicy").values()
    assert any(p["spec"].get("podSelector") == {} and "Ingress" in p["spec"].get("policyTypes", [])
               and not p["spec"].get("ingress") for p in policies), "no default-deny ingress policy"
    deployments = of_kind(objects, "Deployment").values()
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            open_to_all = sources is None or any(
                "ipBlock" in s or ("namespaceSelector" in s and not s["namespaceSelector"])
                for s in sources)
            if not open_to_all:
                continue
            reached = {service_of(d) for d in deployments
                       if selects(policy["spec"]["podSelector"], pod_labels(d))}
            roles = {pod_labels(d)["sportello.io/role"] for d in deployments
                     if selects(policy["spec"]["podSelector"], pod_labels(d))}
            assert reached <= EXPOSED and roles == {"api"}, (
                f"{policy['metadata']['name']} opens {reached} {roles} to the world")
    for ingress in of_kind(objects, "Ingress").values():
        backends = {path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"]
                    for path in rule["http"]["paths"]}
        assert backends <= {f"sportello-{s}" for s in EXPOSED}, ingress["metadata"]["name"]


def test_prod_keeps_a_floor_of_replicas_and_does_not_create_topics_from_pods() -> None:
    objects = render(ROOT / "k8s" / "overlays" / "prod")
    config = of_kind(objects, "ConfigMap")["sportello-config"]["data"]
    assert config["SPORTELLO_ENVIRONMENT"] == "production"
    assert config["SPORTELLO_KAFKA_CREATE_TOPICS"] == "false"
    for hpa in of_kind(objects, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["minReplicas"] >= 2, hpa["metadata"]["name"]
    for scaler in of_kind(objects, "ScaledObject").values():
        assert scaler["spec"]["minReplicaCount"] >= 2, scaler["metadata"]["name"]
    assert not of_kind(objects, "Secret"), "prod carries no secret values: ops create them"
