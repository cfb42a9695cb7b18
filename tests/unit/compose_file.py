"""What the deploy/compose.yaml tests read: the file, its services, and helpers for
compose's own syntax (interpolation, environment lists, ports, durations)."""

import functools
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"

REQUIRED_SERVICES = {
    "kafka",
    "postgres",
    "topics",
    "scheduler-1",
    "scheduler-2",
    "notifier",
    "web",
    "mailpit",
    "sms-sink",
    "prometheus",
    "grafana",
}
SCHEDULERS = ("scheduler-1", "scheduler-2")
LONG_RUNNING_APPS = (*SCHEDULERS, "notifier", "web")


def interpolate(value: str) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} with a stand-in value."""
    return re.sub(r"\$\{[^}]*\}", "stand-in", value)


@functools.cache
def _loaded() -> str:
    return COMPOSE_FILE.read_text()


def load_compose() -> dict[str, Any]:
    """The whole file, parsed afresh from one read per session (tests may not change it)."""
    loaded = yaml.safe_load(_loaded())
    assert isinstance(loaded, dict)
    return loaded


def reslot_services_of(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services that run the Reslot image (built from deploy/Dockerfile)."""
    return {
        name: service
        for name, service in services.items()
        if str(service.get("image", "")).startswith("reslot:") or "build" in service
    }


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def ports_of(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) of each short-syntax port mapping."""
    mappings = []
    for spec in service.get("ports", []):
        parts = str(spec).split(":")
        assert len(parts) == 3, f"{spec!r}: bind to an explicit address, e.g. 127.0.0.1:H:C"
        mappings.append((parts[0], int(parts[1]), int(parts[2].split("/")[0])))
    return mappings


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert match, f"not a compose duration: {duration!r}"
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match[2]]
