"""deploy/compose.yaml and its monitoring: Grafana provisioned with the dashboard and a
Prometheus data source, Prometheus scraping every Reslot service with the alert rules."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.unit.compose_file import (
    DEPLOY,
    LONG_RUNNING_APPS,
    env_of,
    load_compose,
    reslot_services_of,
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = load_compose()["services"]
    return services


@pytest.fixture(scope="module")
def reslot_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return reslot_services_of(services)


def test_grafana_is_provisioned_with_the_dashboard(services: dict[str, dict[str, Any]]) -> None:
    grafana = services["grafana"]
    mounts = dict(str(v).split(":")[:2] for v in grafana["volumes"])
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboard_in_container = mounts["./grafana/reslot.json"]
    providers = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/reslot.yaml").read_text()
    )["providers"]
    paths = {p["options"]["path"] for p in providers}
    assert str(Path(dashboard_in_container).parent) in paths
    datasources = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )["datasources"]
    assert [d["type"] for d in datasources] == ["prometheus"]
    assert urlsplit(datasources[0]["url"]).hostname == "prometheus"


def test_prometheus_scrapes_every_reslot_service(
    services: dict[str, dict[str, Any]], reslot_services: dict[str, dict[str, Any]]
) -> None:
    mounts = dict(str(v).split(":")[:2] for v in services["prometheus"]["volumes"])
    config_source = next(s for s, t in mounts.items() if t.endswith("prometheus.yml"))
    config = yaml.safe_load((DEPLOY / config_source).read_text())
    for rule_file in config["rule_files"]:
        in_container = str(Path(mounts[f"./prometheus/{rule_file}"]).parent)
        assert in_container == str(Path(mounts[config_source]).parent), rule_file
    targets = {
        target
        for job in config["scrape_configs"]
        if job["job_name"].startswith("reslot-")
        for static in job["static_configs"]
        for target in static["targets"]
    }
    expected = {
        f"{name}:{env_of(reslot_services[name])['RESLOT_HTTP_PORT']}" for name in LONG_RUNNING_APPS
    }
    assert targets == expected
