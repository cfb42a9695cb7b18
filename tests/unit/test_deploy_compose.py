"""deploy/compose.yaml: the services, their settings, ports, volumes and start order.

Nothing is run (there is no container engine here); the file is read as YAML and checked
against the settings of services/common/settings.py and the other files under deploy/.
"""

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.common import settings as settings_module
from tests.unit.compose_file import (
    DEPLOY,
    LONG_RUNNING_APPS,
    REQUIRED_SERVICES,
    ROOT,
    SCHEDULERS,
    env_of,
    interpolate,
    load_compose,
    ports_of,
    reslot_services_of,
    seconds,
)
from tests.unit.deploy_env import setting_env_names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = compose["services"]
    return by_name


@pytest.fixture(scope="module")
def reslot_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return reslot_services_of(services)


def test_setting_names_come_from_the_two_prefixes() -> None:
    names = setting_env_names()
    assert {"RESLOT_DATABASE_URL", "RESLOT_PARTITIONS", "KAFKA_BOOTSTRAP_SERVERS"} <= names
    assert "RESLOT_KAFKA" not in names  # the nested model is read with KAFKA_*
    assert all(name.startswith(("RESLOT_", "KAFKA_")) for name in names)


def test_required_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) >= REQUIRED_SERVICES, REQUIRED_SERVICES - set(services)


def test_reslot_services_are_the_expected_ones(
    reslot_services: dict[str, dict[str, Any]],
) -> None:
    assert set(reslot_services) >= {"topics", *LONG_RUNNING_APPS}


def test_reslot_image_is_built_from_the_deploy_dockerfile(
    reslot_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in reslot_services.items():
        build = service["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT, f"{name}: the build context must be the repository root"
        assert (context / build["dockerfile"]).is_file(), name


@pytest.mark.parametrize(
    ("service", "command"),
    [
        ("topics", ["topics"]),
        ("scheduler-1", ["scheduler"]),
        ("scheduler-2", ["scheduler"]),
        ("notifier", ["notifier"]),
        ("web", ["web"]),
    ],
)
def test_commands(services: dict[str, dict[str, Any]], service: str, command: list[str]) -> None:
    assert services[service]["command"] == command


def test_publish_tool_is_opt_in(services: dict[str, dict[str, Any]]) -> None:
    publish = services["publish"]
    assert publish["command"][0] == "publish"
    assert publish.get("profiles"), "publish must not start with a plain `up`"


def test_reslot_env_names_are_real_settings(
    reslot_services: dict[str, dict[str, Any]],
) -> None:
    valid = setting_env_names()
    for name, service in reslot_services.items():
        unknown = set(env_of(service)) - valid
        assert not unknown, f"{name}: not a setting of services/common/settings.py: {unknown}"


def test_reslot_env_values_are_accepted_by_settings(
    reslot_services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = settings_module
    for name, service in reslot_services.items():
        with monkeypatch.context() as patch:
            for key in setting_env_names():
                patch.delenv(key, raising=False)
            for key, value in env_of(service).items():
                patch.setenv(key, interpolate(value))
            settings = module.Settings()  # raises on a value of the wrong type
            assert settings.kafka.bootstrap_servers == "kafka:9092", name


def test_kafka_runs_kraft_without_zookeeper(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    env = env_of(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics come from `reslot topics`"


def test_kafka_listeners_serve_the_network_and_the_host(
    services: dict[str, dict[str, Any]], reslot_services: dict[str, dict[str, Any]]
) -> None:
    env = env_of(services["kafka"])

    def pairs(key: str, separator: str) -> dict[str, str]:
        return dict(item.split(separator) for item in env[key].split(","))

    advertised = pairs("KAFKA_ADVERTISED_LISTENERS", "://")
    listeners = pairs("KAFKA_LISTENERS", "://")
    protocols = pairs("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", ":")
    assert set(advertised) | {env["KAFKA_CONTROLLER_LISTENER_NAMES"]} == set(listeners)
    assert set(listeners) <= set(protocols)

    inside = {env_of(s)["KAFKA_BOOTSTRAP_SERVERS"] for s in reslot_services.values()}
    assert inside <= set(advertised.values()), "services must use an advertised listener"

    host_ports = {host for _, host, _ in ports_of(services["kafka"])}
    on_host = [a for a in advertised.values() if a.startswith("localhost:")]
    assert on_host, "no listener advertised for clients on the host"
    assert all(int(a.rsplit(":", 1)[1]) in host_ports for a in on_host)


def test_database_urls_use_asyncpg_on_the_compose_postgres(
    services: dict[str, dict[str, Any]], reslot_services: dict[str, dict[str, Any]]
) -> None:
    postgres = env_of(services["postgres"])
    assert services["postgres"]["image"].startswith("postgres:16")
    init_sql = "\n".join(p.read_text() for p in (DEPLOY / "postgres" / "initdb").glob("*.sql"))
    created = {postgres["POSTGRES_DB"], *re.findall(r"CREATE DATABASE (\w+)", init_sql)}
    for name, service in reslot_services.items():
        for key, value in env_of(service).items():
            if not key.endswith("DATABASE_URL"):
                continue
            url = urlsplit(interpolate(value))
            assert url.scheme == "postgresql+asyncpg", f"{name} {key}"
            assert url.hostname == "postgres", f"{name} {key}"
            assert url.username == postgres["POSTGRES_USER"], f"{name} {key}"
            assert url.path.lstrip("/") in created, f"{name} {key}: database never created"


def test_schedulers_share_one_configuration(services: dict[str, dict[str, Any]]) -> None:
    first, second = (env_of(services[name]) for name in SCHEDULERS)
    assert first == second


def test_partition_count_is_the_same_everywhere(
    reslot_services: dict[str, dict[str, Any]],
) -> None:
    counts = {env_of(s).get("RESLOT_PARTITIONS") for s in reslot_services.values()}
    assert len(counts) == 1, counts
    assert None not in counts, "every Reslot service must set RESLOT_PARTITIONS"
    assert int(counts.pop() or 0) >= len(SCHEDULERS), "a scheduler would sit idle"


def test_notifier_sends_to_the_sinks(services: dict[str, dict[str, Any]]) -> None:
    env = env_of(services["notifier"])
    assert env["RESLOT_SMTP_HOST"] == "mailpit"
    assert env["RESLOT_SMTP_PORT"] == "1025"  # Mailpit's SMTP port
    sms = urlsplit(env["RESLOT_SMS_URL"])
    assert sms.hostname == "sms-sink"
    assert str(sms.port) == env_of(services["sms-sink"])["SMS_SINK_PORT"]
    sink_script = services["sms-sink"]["volumes"][0].split(":")[0]
    assert (DEPLOY / sink_script).is_file()


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in LONG_RUNNING_APPS:
        depends = services[name]["depends_on"]
        assert depends["topics"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    notifier = services["notifier"]["depends_on"]
    assert notifier["mailpit"]["condition"] == "service_healthy"
    # the front reads the schedulers' tables: ready once a scheduler has created them
    assert services["web"]["depends_on"]["scheduler-1"]["condition"] == "service_healthy"


def test_depends_on_names_existing_services(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name


def test_http_ports_are_published_once_each_on_loopback(
    services: dict[str, dict[str, Any]], reslot_services: dict[str, dict[str, Any]]
) -> None:
    seen: dict[int, str] = {}
    for name, service in services.items():
        for address, host, _ in ports_of(service):
            assert address == "127.0.0.1", f"{name} publishes port {host} beyond this machine"
            assert host not in seen, f"host port {host}: {seen.get(host)} and {name}"
            seen[host] = name
    for name in LONG_RUNNING_APPS:
        http = int(env_of(reslot_services[name])["RESLOT_HTTP_PORT"])
        assert [c for _, _, c in ports_of(reslot_services[name])] == [http], name


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        one_shot = service.get("restart") == "no"
        check = service.get("healthcheck", {})
        if one_shot:
            assert check.get("disable") is True, f"{name} serves no HTTP: turn the check off"
        else:
            assert check.get("test"), f"{name} has no healthcheck"
            assert not check.get("disable"), name


def test_reslot_healthcheck_asks_the_http_port(
    reslot_services: dict[str, dict[str, Any]],
) -> None:
    for name in LONG_RUNNING_APPS:
        service = reslot_services[name]
        test = service["healthcheck"]["test"]
        port = env_of(service)["RESLOT_HTTP_PORT"]
        assert test[:3] == ["CMD", "python", "-c"], name
        compile(test[3], f"{name} healthcheck", "exec")
        assert f"127.0.0.1:{port}/readyz" in test[3], name


def test_stop_grace_period_outlasts_the_graceful_timeout(
    reslot_services: dict[str, dict[str, Any]],
) -> None:
    default = settings_module.Settings.model_fields["graceful_timeout_s"].default
    for name in LONG_RUNNING_APPS:
        service = reslot_services[name]
        timeout = float(env_of(service).get("RESLOT_GRACEFUL_TIMEOUT_S", default))
        assert seconds(service["stop_grace_period"]) > timeout, name


def test_named_volumes_are_declared_and_keep_the_state(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes", {}))
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: bind source {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"

    def targets(service: str) -> dict[str, str]:
        pairs = (str(v).split(":")[:2] for v in services[service]["volumes"])
        return {target: source for source, target in pairs}

    assert targets("postgres")["/var/lib/postgresql/data"] in declared
    assert targets("grafana")["/var/lib/grafana"] in declared
    assert targets("kafka")[env_of(services["kafka"])["KAFKA_LOG_DIRS"]] in declared
