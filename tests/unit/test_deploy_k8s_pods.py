"""deploy/k8s: what each pod may use and how it stops: resources, a non-root user on a
read-only root, a grace period longer than the graceful timeout, and a disruption budget
per Deployment that still lets a node drain."""

import pytest

from services.common import settings as settings_module
from tests.unit.k8s_manifests import Manifest, containers, load_manifests, of_kind, selects


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    return load_manifests()


def test_resources_requests_and_limits(manifests: list[Manifest]) -> None:
    for workload, _, container in containers(manifests):
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[kind]), f"{workload} {kind}"


def test_pods_run_non_root_with_a_read_only_root(manifests: list[Manifest]) -> None:
    for workload, spec, container in containers(manifests):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, workload
        assert pod.get("runAsUser", 1) != 0, workload
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", workload
        own = container["securityContext"]
        assert own["readOnlyRootFilesystem"] is True, workload
        assert own["allowPrivilegeEscalation"] is False, workload
        assert own["capabilities"]["drop"] == ["ALL"], workload
        assert own.get("runAsUser", 1) != 0, workload
        assert spec.get("automountServiceAccountToken") is False, workload
        writable = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in writable, f"{workload}: nowhere to write with a read-only root"


def test_termination_grace_outlasts_the_graceful_timeout(manifests: list[Manifest]) -> None:
    (config,) = of_kind(manifests, "ConfigMap").values()
    default = settings_module.Settings.model_fields["graceful_timeout_s"].default
    timeout = float(config["data"].get("RESLOT_GRACEFUL_TIMEOUT_S", default))
    for name, deployment in of_kind(manifests, "Deployment").items():
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > timeout, f"{name}: {grace}s <= RESLOT_GRACEFUL_TIMEOUT_S {timeout}s"


def test_one_disruption_budget_per_deployment_that_allows_a_drain(
    manifests: list[Manifest],
) -> None:
    budgets = of_kind(manifests, "PodDisruptionBudget")
    for name, deployment in of_kind(manifests, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [
            b for b in budgets.values() if selects(b["spec"]["selector"]["matchLabels"], labels)
        ]
        assert len(matching) == 1, f"{name}: {len(matching)} PodDisruptionBudgets"
        (budget,) = matching
        replicas = deployment["spec"]["replicas"]
        if "minAvailable" in budget["spec"]:
            assert budget["spec"]["minAvailable"] < replicas, f"{name}: a drain would block"
        else:
            assert budget["spec"]["maxUnavailable"] >= 1, name
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(
            selects(selector, d["spec"]["template"]["metadata"]["labels"])
            for d in of_kind(manifests, "Deployment").values()
        ), f"PodDisruptionBudget {name} selects no Deployment"
