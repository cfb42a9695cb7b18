"""What the deploy/k8s tests read: the manifests' files and helpers to look into them."""

import functools
from pathlib import Path
from typing import Any

import yaml

from services.common import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
README = ROOT / "deploy" / "README.md"

# The one Secret the tree references and never defines (deploy/README.md, "Kubernetes").
SECRET_NAME = "reslot-secrets"
EXPECTED_REPLICAS = {"reslot-scheduler": 2, "reslot-notifier": 1, "reslot-web": 2}
EXPECTED_ARGS = {"reslot-scheduler": ["scheduler"], "reslot-notifier": ["notifier"],
                 "reslot-web": ["web"]}

Manifest = dict[str, Any]


def secret_env_names() -> frozenset[str]:
    """Settings that must come from a Secret: SecretStr fields and database URLs."""
    module = settings_module
    names = set()
    for model in (module.Settings, module.KafkaSettings):
        prefix = model.model_config["env_prefix"]
        for field, info in model.model_fields.items():
            if "SecretStr" in str(info.annotation) or field.endswith("database_url"):
                names.add(f"{prefix}{field}".upper())
    return frozenset(names)


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.iterdir() if p.suffix in (".yaml", ".yml"))


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def pod_specs(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    """Pod templates of every Deployment and Job, by workload name."""
    return {
        m["metadata"]["name"]: m["spec"]["template"]["spec"]
        for m in manifests
        if m["kind"] in ("Deployment", "Job")
    }


def containers(manifests: list[Manifest]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload, pod spec, container) for every container of every workload."""
    return [
        (workload, spec, container)
        for workload, spec in pod_specs(manifests).items()
        for container in spec.get("initContainers", []) + spec["containers"]
    ]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and selector.items() <= labels.items()


@functools.cache
def _loaded() -> tuple[Manifest, ...]:
    docs: list[Manifest] = []
    for path in manifest_files():
        if path.name == "kustomization.yaml":
            continue
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return tuple(docs)


def load_manifests() -> list[Manifest]:
    """Every object of the base (the kustomization aside), parsed once per test session."""
    return list(_loaded())
