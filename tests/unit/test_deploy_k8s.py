"""deploy/k8s: the kustomize base parses, lists every file, and its pieces fit together.

Checked in Python (names, labels, ports, probes, security, settings); rendered with
`kubectl kustomize` as well when kubectl is on PATH.
"""

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from services.common import settings as settings_module
from tests.unit.deploy_env import setting_env_names
from tests.unit.k8s_manifests import (
    EXPECTED_ARGS,
    EXPECTED_REPLICAS,
    K8S,
    README,
    SECRET_NAME,
    Manifest,
    containers,
    load_manifests,
    manifest_files,
    of_kind,
    pod_specs,
    secret_env_names,
    selects,
)


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    loaded = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    return load_manifests()


def test_every_manifest_parses_with_kind_and_name() -> None:
    for path in manifest_files():
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs, f"{path.name} is empty"
        for doc in docs:
            assert doc.get("apiVersion"), path.name
            assert doc.get("kind"), path.name
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], path.name


def test_kustomization_lists_every_file_and_only_existing_ones(
    kustomization: dict[str, Any],
) -> None:
    listed = kustomization["resources"]
    on_disk = {p.name for p in manifest_files()} - {"kustomization.yaml"}
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    assert set(listed) == on_disk, {
        "listed, missing": set(listed) - on_disk,
        "present, not listed": on_disk - set(listed),
    }


def test_namespace_is_declared_and_used(
    kustomization: dict[str, Any], manifests: list[Manifest]
) -> None:
    assert set(of_kind(manifests, "Namespace")) == {kustomization["namespace"]}


def test_expected_objects_exist(manifests: list[Manifest]) -> None:
    assert set(of_kind(manifests, "Deployment")) == set(EXPECTED_REPLICAS)
    assert of_kind(manifests, "ConfigMap")
    assert of_kind(manifests, "Job")
    assert not of_kind(manifests, "Secret"), "secrets are made outside the tree"


def test_deployments_replicas_and_commands(manifests: list[Manifest]) -> None:
    for name, deployment in of_kind(manifests, "Deployment").items():
        assert deployment["spec"]["replicas"] == EXPECTED_REPLICAS[name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == EXPECTED_ARGS[name]
        assert "command" not in container, "the image's ENTRYPOINT is `reslot`"


def test_topics_job_runs_reslot_topics(manifests: list[Manifest]) -> None:
    (job,) = of_kind(manifests, "Job").values()
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"] == ["topics"]
    assert spec["restartPolicy"] in ("OnFailure", "Never")
    assert job["spec"]["backoffLimit"] >= 1


def test_deployment_selectors_match_their_pods(manifests: list[Manifest]) -> None:
    for name, deployment in of_kind(manifests, "Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selects(selector, deployment["spec"]["template"]["metadata"]["labels"]), name


def test_probes_use_a_declared_port_and_the_health_paths(manifests: list[Manifest]) -> None:
    for name, deployment in of_kind(manifests, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["containerPort"] for p in container["ports"]}
        ports |= {p["name"] for p in container["ports"] if "name" in p}
        expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
        for probe, path in expected.items():
            http = container[probe]["httpGet"]
            assert http["path"] == path, f"{name} {probe}"
            assert http["port"] in ports, f"{name} {probe}: port {http['port']} not declared"
        if "startupProbe" in container:
            assert container["startupProbe"]["httpGet"]["port"] in ports, name


def test_container_port_is_the_configured_http_port(manifests: list[Manifest]) -> None:
    (config,) = of_kind(manifests, "ConfigMap").values()
    default = settings_module.Settings.model_fields["http_port"].default
    http_port = int(config["data"].get("RESLOT_HTTP_PORT", default))
    for name, deployment in of_kind(manifests, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert [p["containerPort"] for p in container["ports"]] == [http_port], name


def test_config_map_holds_only_non_secret_settings(manifests: list[Manifest]) -> None:
    valid, secret = setting_env_names(), secret_env_names()
    for name, config in of_kind(manifests, "ConfigMap").items():
        keys = set(config["data"])
        assert keys <= valid, f"{name}: not settings: {keys - valid}"
        assert not keys & secret, f"{name}: belongs in {SECRET_NAME}: {keys & secret}"


def test_config_map_values_are_accepted_by_settings(
    manifests: list[Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    (config,) = of_kind(manifests, "ConfigMap").values()
    for key in setting_env_names():
        monkeypatch.delenv(key, raising=False)
    for key, value in config["data"].items():
        monkeypatch.setenv(key, value)
    settings = settings_module.Settings()
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.sasl_mechanism in ("SCRAM-SHA-512", "SCRAM-SHA-256")


def test_env_names_are_settings_and_refs_point_at_existing_objects(
    manifests: list[Manifest],
) -> None:
    valid, secret = setting_env_names(), secret_env_names()
    config_maps = set(of_kind(manifests, "ConfigMap"))
    for workload, _, container in containers(manifests):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps, workload
            if "secretRef" in source:
                assert source["secretRef"]["name"] == SECRET_NAME, workload
        for var in container.get("env", []):
            assert var["name"] in valid, f"{workload}: {var['name']} is not a setting"
            ref = var.get("valueFrom", {})
            if "configMapKeyRef" in ref:
                assert ref["configMapKeyRef"]["name"] in config_maps, workload
            if "secretKeyRef" in ref:
                assert ref["secretKeyRef"]["name"] == SECRET_NAME, workload
            if var["name"] in secret:
                assert "secretKeyRef" in ref, f"{workload}: {var['name']} must come from a Secret"


def test_secret_volumes_use_the_documented_secret(manifests: list[Manifest]) -> None:
    for workload, spec in pod_specs(manifests).items():
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] == SECRET_NAME, workload


def test_secret_name_and_keys_are_documented(manifests: list[Manifest]) -> None:
    readme = README.read_text()
    assert SECRET_NAME in readme
    keys = set()
    for _, spec, container in containers(manifests):
        for var in container.get("env", []):
            if "secretKeyRef" in var.get("valueFrom", {}):
                keys.add(var["valueFrom"]["secretKeyRef"]["key"])
        for volume in spec.get("volumes", []):
            keys |= {item["key"] for item in volume.get("secret", {}).get("items", [])}
    missing = {key for key in keys if f"`{key}`" not in readme}
    assert not missing, f"secret keys not described in deploy/README.md: {missing}"


def test_mounts_name_declared_volumes_and_the_ca_file_is_mounted(
    manifests: list[Manifest],
) -> None:
    (config,) = of_kind(manifests, "ConfigMap").values()
    for workload, spec, container in containers(manifests):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounted_files = set()
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes, f"{workload}: volume {mount['name']} undeclared"
            for item in volumes[mount["name"]].get("secret", {}).get("items", []):
                mounted_files.add(f"{mount['mountPath'].rstrip('/')}/{item['path']}")
        for key in ("KAFKA_SSL_CAFILE", "KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE"):
            if key in config["data"]:
                assert config["data"][key] in mounted_files, f"{workload}: {key} not mounted"


def test_services_select_a_deployment_and_target_its_port(manifests: list[Manifest]) -> None:
    deployments = of_kind(manifests, "Deployment")
    for name, service in of_kind(manifests, "Service").items():
        selector = service["spec"]["selector"]
        matching = [
            d
            for d in deployments.values()
            if selects(selector, d["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(matching) == 1, f"Service {name} selects {len(matching)} Deployments"
        (container,) = matching[0]["spec"]["template"]["spec"]["containers"]
        ports = {p["name"] for p in container["ports"]} | {
            p["containerPort"] for p in container["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name}: {port['targetPort']}"
        assert service["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    covered = {
        d
        for d, deployment in deployments.items()
        for s in of_kind(manifests, "Service").values()
        if selects(s["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])
    }
    assert covered == set(deployments), "every Deployment's metrics need a Service"


def test_images_are_the_reslot_image(
    kustomization: dict[str, Any], manifests: list[Manifest]
) -> None:
    image_names = {entry["name"] for entry in kustomization["images"]}
    for workload, _, container in containers(manifests):
        assert container["image"].split(":")[0] in image_names, workload


def test_kubectl_kustomize_renders_the_base(
    kustomization: dict[str, Any], manifests: list[Manifest]
) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH: the base was checked file by file above")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    objects = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    assert len(objects) == len(manifests)
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == kustomization["namespace"], obj["kind"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "reslot"
