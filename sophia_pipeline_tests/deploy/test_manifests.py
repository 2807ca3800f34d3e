"""Every file under deploy/ checked offline: the Kubernetes manifests against the API
schemas kubernetes-validate ships (strict: an unknown field fails), the Helm values
against the keys of the official chart, and in all of them the fields that matter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from sophia_pipeline.defs.policies import EMBED_STEP_RESOURCES

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
# The newest Kubernetes release whose schemas the installed kubernetes-validate ships.
K8S_VERSION = kubernetes_validate.latest_version()
IMAGE = "ghcr.io/sophia/sophia-pipeline"
SERVERS = {
    "sophia-webhooks": ["sophia-pipeline", "webhooks", "--host", "0.0.0.0", "--port", "8080"],
    "sophia-serving": ["sophia-pipeline", "serve", "--host", "0.0.0.0", "--port", "8080"],
}
# Names of settings whose values are credentials: they must come from a Secret.
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "API_KEY", "ACCESS_KEY", "REDIS_URL")


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all_docs() -> list[dict[str, Any]]:
    return [d for path in sorted(K8S.glob("*.yaml")) for d in _docs(path)]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _all_docs() if d["kind"] == kind}


def test_every_file_under_deploy_is_checked_by_a_test() -> None:
    """A new file under deploy/ needs a check here (or in the install/instance tests)."""
    checked_elsewhere = {"dagster.yaml", "install.sh", "healthcheck.sh", "k8s/README.md"}
    files = {str(p.relative_to(DEPLOY)) for p in DEPLOY.rglob("*") if p.is_file()}
    manifests = {str(p.relative_to(DEPLOY)) for p in K8S.glob("*.yaml")}
    assert files == manifests | {"helm/values.yaml"} | checked_elsewhere


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_each_manifest_validates_strictly_against_the_kubernetes_schemas(path: Path) -> None:
    docs = _docs(path)
    assert docs
    for doc in docs:
        # Raises (ValidationError, SchemaNotFoundError) on an unknown field or kind.
        assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_strict_validation_rejects_what_it_should() -> None:
    """The check above can fail: a misspelt field is refused."""
    deployment = _of_kind("Deployment")["sophia-webhooks"]
    bad = json.loads(json.dumps(deployment))
    bad["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_each_server_deployment_has_probes_limits_and_a_locked_down_pod(name: str) -> None:
    deployment = _of_kind("Deployment")[name]
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    assert container["command"] == SERVERS[name]
    image, tag = container["image"].rsplit(":", 1)
    assert image == IMAGE and tag not in {"", "latest"}
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "500m", "memory": "1Gi"},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    ready = container["readinessProbe"]
    if "httpGet" in ready:
        assert ready["httpGet"]["path"] == "/ready"
    else:
        # The serving API's /ready needs the token when one is set: the probe sends it
        # from the container's own environment, never from the manifest.
        probe = " ".join(ready["exec"]["command"])
        assert "127.0.0.1:8080/ready" in probe and 'os.environ.get("SOPHIA_API_TOKEN"' in probe
    (port,) = container["ports"]
    assert port["containerPort"] == 8080
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    # A read-only root needs writable scratch where the process writes.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert {"/tmp", "/data"} <= mounts
    assert all("emptyDir" in volumes[m["name"]] for m in container["volumeMounts"])
    # The HPA owns the replica count: a fixed one would fight it on every apply.
    assert "replicas" not in deployment["spec"]


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_each_server_has_a_service_an_hpa_and_a_pdb(name: str) -> None:
    labels = _of_kind("Deployment")[name]["spec"]["selector"]["matchLabels"]
    service = _of_kind("Service")[name]
    assert service["spec"]["selector"] == labels
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    hpa = _of_kind("HorizontalPodAutoscaler")[name]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    pdb = _of_kind("PodDisruptionBudget")[name]["spec"]
    assert pdb["selector"]["matchLabels"] == labels
    # At least one replica stays up through a drain (min 3 replicas, at most 1 down).
    assert pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable", 0) >= 1


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_network_policies_cover_each_server_and_deny_by_default(name: str) -> None:
    policies = _of_kind("NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}
    labels = _of_kind("Deployment")[name]["spec"]["selector"]["matchLabels"]
    own = policies[name]["spec"]
    assert own["podSelector"]["matchLabels"] == labels
    assert set(own["policyTypes"]) == {"Ingress", "Egress"}


def _env_values(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every (name, value) of a container env entry anywhere in ``doc``."""
    found: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "name" in node and ("value" in node or "valueFrom" in node):
                found.append((node["name"], node.get("value")))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(doc)
    return found


def _is_secret_name(name: str) -> bool:
    return any(word in name.upper() for word in SECRET_WORDS)


def test_no_secret_is_written_in_any_manifest_or_config_map() -> None:
    docs = _all_docs()
    assert not [d for d in docs if d["kind"] == "Secret"], "Secrets are created out of band"
    for doc in docs:
        for name, value in _env_values(doc):
            assert value is None or not _is_secret_name(name), f"{name} has a plain value"
        if doc["kind"] == "ConfigMap":
            leaked = [k for k in doc["data"] if _is_secret_name(k)]
            assert not leaked, f"secret-looking keys in ConfigMap: {leaked}"
    receiver = _container(_of_kind("Deployment")["sophia-webhooks"])
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in receiver["env"]}
    assert {"SLACK_SIGNING_SECRET", "GITHUB_WEBHOOK_SECRET"} <= set(refs)
    serving = _container(_of_kind("Deployment")["sophia-serving"])
    assert {"secretRef": {"name": "sophia-secrets"}} in serving["envFrom"]


def test_the_no_secret_check_catches_a_plain_value() -> None:
    leaky = {"env": [{"name": "SLACK_SIGNING_SECRET", "value": "hunter2"}]}
    assert any(v is not None and _is_secret_name(n) for n, v in _env_values(leaky))


def test_production_landing_is_object_storage() -> None:
    config = _of_kind("ConfigMap")["sophia-config"]["data"]
    assert config["SOPHIA_LANDING_URL"].startswith("s3://")
    assert config["SOPHIA_PROFILE"] == "prod"
    assert config["HF_HUB_OFFLINE"] == "1"


# Keys of the official chart's values (helm/dagster/values.yaml and its schema in
# dagster-io/dagster, helm/dagster/schema): top level, and what we set under each.
CHART_TOP_LEVEL = {
    "global", "dagsterWebserver", "dagster-user-deployments", "postgresql",
    "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
    "flower", "ingress", "imagePullSecrets", "computeLogManager", "scheduler",
    "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry",
    "serviceAccount", "retention", "additionalInstanceConfig", "concurrency",
}  # fmt: skip
CHART_USER_DEPLOYMENT = {
    "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
    "port", "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity",
    "tolerations", "podSecurityContext", "securityContext", "resources", "livenessProbe",
    "readinessProbe", "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName",
}  # fmt: skip
CHART_K8S_RUN_LAUNCHER = {
    "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
    "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
    "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig",
}  # fmt: skip
CHART_DAEMON = {
    "enabled", "image", "runCoordinator", "heartbeatTolerance", "env", "envConfigMaps",
    "envSecrets", "deploymentLabels", "labels", "nodeSelector", "affinity", "tolerations",
    "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
    "startupProbe", "annotations", "runMonitoring", "runRetries", "sensors", "schedules",
    "schedulerName", "volumeMounts", "volumes",
}  # fmt: skip
CHART_POSTGRESQL = {
    "image", "enabled", "postgresqlHost", "postgresqlUsername", "postgresqlPassword",
    "postgresqlDatabase", "postgresqlParams", "postgresqlScheme", "service",
}  # fmt: skip
CHART_GLOBAL = {
    "postgresqlSecretName",
    "dagsterHome",
    "serviceAccountName",
    "celeryConfigSecretName",
}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    loaded = yaml.safe_load(HELM_VALUES.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_helm_values_use_only_keys_the_chart_has(values: dict[str, Any]) -> None:
    assert set(values) <= CHART_TOP_LEVEL
    assert set(values["global"]) <= CHART_GLOBAL
    assert set(values["postgresql"]) <= CHART_POSTGRESQL
    assert set(values["dagsterDaemon"]) <= CHART_DAEMON
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert set(k8s) <= CHART_K8S_RUN_LAUNCHER
    for deployment in values["dagster-user-deployments"]["deployments"]:
        assert set(deployment) <= CHART_USER_DEPLOYMENT


def test_helm_values_run_this_location_on_k8s_with_postgres_and_sensors(
    values: dict[str, Any],
) -> None:
    user = values["dagster-user-deployments"]
    assert user["enabled"] is True
    (location,) = user["deployments"]
    assert location["image"]["repository"] == IMAGE
    assert location["image"]["tag"] not in {"", "latest"}
    args = location.get("codeServerArgs") or location.get("dagsterApiGrpcArgs")
    assert args == ["--module-name", "sophia_pipeline.definitions"]
    assert location["env"]["SOPHIA_STEP_EXECUTOR"] == "k8s"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    pg = values["postgresql"]
    assert pg["postgresqlScheme"] == "postgresql+psycopg2"  # as deploy/dagster.yaml
    assert values["generatePostgresqlPasswordSecret"] is False  # the password is a Secret
    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] is True and daemon["sensors"]["useThreads"] is True
    assert daemon["runMonitoring"]["enabled"] is True
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    limits = coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert limits == instance["concurrency"]["runs"]["tag_concurrency_limits"]


def test_helm_values_pin_the_chart_to_the_dagster_version(values: dict[str, Any]) -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"dagster==1.13.27"' in pyproject
    assert "--version 1.13.27" in HELM_VALUES.read_text()


def test_helm_values_hold_no_plain_secret(values: dict[str, Any]) -> None:
    for section in ("dagsterWebserver", "dagsterDaemon"):
        assert not any(_is_secret_name(k) for k in values[section].get("env", {}))
    for deployment in values["dagster-user-deployments"]["deployments"]:
        assert not any(_is_secret_name(k) for k in deployment.get("env", {}))
        assert {"name": "sophia-secrets"} in deployment["envSecrets"]


def test_the_embed_steps_resources_fit_the_gpu_example_and_exceed_a_run_pod() -> None:
    """The embed step asks more than the 512Mi/250m a run pod gets (else the per-step
    config would be pointless)."""
    assert EMBED_STEP_RESOURCES["requests"]["memory"].endswith("Gi")
    assert float(EMBED_STEP_RESOURCES["requests"]["cpu"]) > 0.25
    assert "nvidia.com/gpu" in HELM_VALUES.read_text()  # the commented GPU example


def _rendered_code_server(values: dict[str, Any]) -> dict[str, Any]:
    """The Deployment the chart's user-deployment template makes of our values, reduced to
    the fields we set (image, args, env, resources, probes' timing, security contexts)."""
    (location,) = values["dagster-user-deployments"]["deployments"]
    port = location["port"]
    check = {"exec": {"command": ["dagster", "api", "grpc-health-check", "-p", str(port)]}}
    container = {
        "name": location["name"],
        "image": f"{location['image']['repository']}:{location['image']['tag']}",
        "imagePullPolicy": location["image"]["pullPolicy"],
        "args": ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", str(port)]
        + location["codeServerArgs"],
        "env": [{"name": k, "value": v} for k, v in location["env"].items()],
        "envFrom": [{"configMapRef": ref} for ref in location["envConfigMaps"]]
        + [{"secretRef": ref} for ref in location["envSecrets"]],
        "resources": location["resources"],
        "securityContext": location["securityContext"],
        "livenessProbe": {**check, **location["livenessProbe"]},
        "startupProbe": {**check, **location["startupProbe"]},
    }
    labels = {"app.kubernetes.io/name": location["name"]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": location["name"], "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": location["podSecurityContext"],
                    "containers": [container],
                },
            },
        },
    }


def test_helm_values_render_to_valid_kubernetes_objects(values: dict[str, Any]) -> None:
    """What the chart copies verbatim into pod specs must be valid Kubernetes as written."""
    assert kubernetes_validate.validate(_rendered_code_server(values), K8S_VERSION, strict=True)
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "run"},
        "spec": {
            "containers": [{"name": "run", "image": IMAGE, "resources": launcher["resources"]}]
        },
    }
    assert kubernetes_validate.validate(run_pod, K8S_VERSION, strict=True)
    step_pod = json.loads(json.dumps(run_pod))
    step_pod["spec"]["containers"][0]["resources"] = EMBED_STEP_RESOURCES
    assert kubernetes_validate.validate(step_pod, K8S_VERSION, strict=True)
