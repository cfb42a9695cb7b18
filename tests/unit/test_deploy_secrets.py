"""No file under deploy/ holds a secret value; deploy/README.md says how to run it all.

A secret may be named (KAFKA_SASL_PASSWORD, secretKeyRef) and referenced (${VAR}, $VAR,
<placeholder>), never written down.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
README = DEPLOY / "README.md"

SECRET_KEY = re.compile(
    r"""(?ix)
    (?<![\w${.-])  # a name, not the inside of a ${VAR:?message} reference
    (?P<key>[A-Z0-9_.-]*(?:PASSWORD|PASSWD|PASS|SECRET|TOKEN|API[_-]?KEY|PRIVATE[_-]?KEY))
    ["']?[ \t]*[:=][ \t]*["']?
    (?P<value>[^\s"',}#]+)
    """
)
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:(?P<value>[^/\s@]+)@", re.I)
KEY_MATERIAL = re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")
SECRET_FILES = (".env", ".pem", ".key", ".p12", ".pfx", ".jks", ".crt")


def is_reference(value: str) -> bool:
    """${VAR}, $VAR or <placeholder>: a value supplied at run time, not written here."""
    return value.startswith(("$", "<")) or value in ("true", "false", "null", "~")


def leaks(text: str) -> list[str]:
    found = [
        f"{m['key']}={m['value']}"
        for m in SECRET_KEY.finditer(text)
        if not is_reference(m["value"])
    ]
    found += [m[0] for m in URL_CREDENTIALS.finditer(text) if not is_reference(m["value"])]
    found += [m[0] for m in KEY_MATERIAL.finditer(text)]
    return found


def deploy_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@pytest.mark.parametrize(
    "text",
    [
        "POSTGRES_PASSWORD: hunter2",
        'GF_SECURITY_ADMIN_PASSWORD: "admin"',
        "--from-literal=KAFKA_SASL_PASSWORD=s3cret",
        '"sms_token": "abc123"',
        "RESLOT_DATABASE_URL: postgresql+asyncpg://reslot:hunter2@db:5432/reslot",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_scanner_finds_written_secrets(text: str) -> None:
    assert leaks(text), text


@pytest.mark.parametrize(
    "text",
    [
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}",
        "url: postgresql+asyncpg://reslot:${POSTGRES_PASSWORD:?set it}@postgres/db",
        '--from-literal=KAFKA_SASL_PASSWORD="$KAFKA_SASL_PASSWORD"',
        "postgresql+asyncpg://reslot:${POSTGRES_PASSWORD}@postgres:5432/reslot_scheduler",
        "postgresql+asyncpg://reslot:<password>@<host>:5432/reslot_scheduler",
        "- name: KAFKA_SASL_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: x",
        "secretName: reslot-secrets",
        "key: RESLOT_SMTP_PASSWORD",
        "| `RESLOT_SMS_TOKEN` | no | bearer token of the SMS gateway |",
    ],
)
def test_scanner_lets_references_pass(text: str) -> None:
    assert not leaks(text), text


def test_no_secret_values_under_deploy() -> None:
    found = {}
    for path in deploy_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if hits := leaks(text):
            found[str(path.relative_to(ROOT))] = hits
    assert not found, f"secret values written down: {found}"


def test_no_secret_files_under_deploy() -> None:
    found = [p for p in deploy_files() if p.name.endswith(SECRET_FILES)]
    assert not found, found


def test_no_secret_objects_under_deploy() -> None:
    for path in deploy_files():
        if path.suffix not in (".yaml", ".yml"):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                assert doc.get("kind") != "Secret", f"{path}: make Secrets outside the tree"


def test_readme_says_how_to_run_the_compose_stack() -> None:
    readme = README.read_text()
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert "docker compose -f deploy/compose.yaml up" in readme
    assert "reslot publish examples/capago-dz.jsonl" in readme
    host_listener = next(
        address
        for address in compose["services"]["kafka"]["environment"][
            "KAFKA_ADVERTISED_LISTENERS"
        ].split(",")
        if "localhost:" in address
    ).split("://")[1]
    assert f"KAFKA_BOOTSTRAP_SERVERS={host_listener}" in readme
    for variable in set(re.findall(r"\$\{(\w+):\?", (DEPLOY / "compose.yaml").read_text())):
        assert variable in readme, f"{variable} is required by compose but not explained"


@pytest.mark.parametrize(
    "topic",
    [
        "kubectl apply -k deploy/k8s",
        "SCRAM-SHA-512",
        "PLAIN",
        "mTLS",
        "?ssl=require",
        "KAFKA_SSL_CAFILE",
        "KAFKA_SSL_CERTFILE",
        "KAFKA_SSL_KEYFILE",
        "Dockerfile.dockerignore",
    ],
)
def test_readme_covers(topic: str) -> None:
    assert topic in README.read_text()
