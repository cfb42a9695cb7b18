"""deploy/Dockerfile and its ignore file, read as text (no engine to build with here)."""

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
# BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile before a .dockerignore at
# the context root; a .dockerignore in deploy/ would never be read (the context is the root).
IGNORE_FILE = ROOT / "deploy" / "Dockerfile.dockerignore"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "cc ", "apt-get install")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


def stages(text: str) -> list[Stage]:
    args = {}
    found: list[Stage] = []
    for keyword, rest in instructions(text):
        if keyword == "ARG" and not found:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), words[0])
            alias = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            found.append(Stage(base, alias))
        elif found:
            found[-1].instructions.append((keyword, rest))
    return found


@pytest.fixture(scope="module")
def dockerfile_stages() -> list[Stage]:
    return stages(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(dockerfile_stages: list[Stage]) -> Stage:
    return dockerfile_stages[-1]


def test_multi_stage_with_a_named_builder(dockerfile_stages: list[Stage]) -> None:
    assert len(dockerfile_stages) >= 2
    builder = dockerfile_stages[0]
    assert builder.name == "builder"
    build_steps = " ".join(builder.all("RUN"))
    assert "pip wheel" in build_steps
    assert "pip install" in build_steps


def test_final_stage_is_python_311_slim(final: Stage) -> None:
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", final.base), final.base


def test_final_stage_has_no_build_tools(final: Stage) -> None:
    for run in final.all("RUN"):
        for tool in BUILD_TOOLS:
            assert tool not in run, f"final stage installs {tool!r}: {run}"


def test_final_stage_copies_only_the_venv_from_the_builder(
    final: Stage, dockerfile_stages: list[Stage]
) -> None:
    copies = final.all("COPY")
    assert copies, "the final stage copies nothing"
    for copy in copies:
        words = copy.split()
        assert words[0] == f"--from={dockerfile_stages[0].name}", copy
        assert words[1:] == ["/opt/venv", "/opt/venv"], copy
    assert not final.all("ADD")


def test_runs_as_a_non_root_user(final: Stage) -> None:
    users = final.all("USER")
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user


def test_healthcheck_asks_healthz_with_python(final: Stage) -> None:
    (healthcheck,) = final.all("HEALTHCHECK")
    command = healthcheck[healthcheck.index("CMD") + len("CMD") :].strip()
    argv = json.loads(command) if command.startswith("[") else shlex.split(command)
    assert argv[:2] == ["python", "-c"], argv
    assert "/healthz" in argv[2]
    assert "curl" not in healthcheck, "slim has no curl"
    compile(argv[2], "HEALTHCHECK", "exec")


def test_entrypoint_is_the_reslot_console_script(final: Stage) -> None:
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["reslot"]
    assert json.loads(final.all("CMD")[-1]) == ["scheduler"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "reslot" in project["scripts"]


def test_venv_is_on_path_in_both_stages(dockerfile_stages: list[Stage]) -> None:
    for stage in dockerfile_stages:
        assert any("PATH=/opt/venv/bin:$PATH" in env for env in stage.all("ENV")), stage.name


def test_exposes_the_default_http_port(final: Stage) -> None:
    assert final.all("EXPOSE") == ["8080"]


def test_ignore_file_is_where_buildkit_reads_it() -> None:
    assert IGNORE_FILE.is_file()
    assert not (ROOT / "deploy" / ".dockerignore").exists(), (
        "deploy/.dockerignore is never read for `docker build -f deploy/Dockerfile .`; "
        "use deploy/Dockerfile.dockerignore"
    )


def test_ignore_file_is_an_allow_list_keeping_what_the_build_copies(
    dockerfile_stages: list[Stage],
) -> None:
    patterns = [
        line.strip()
        for line in IGNORE_FILE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "start by ignoring everything, then allow"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for stage in dockerfile_stages:
        for copy in stage.all("COPY"):
            words = copy.split()
            if words[0].startswith("--from="):
                continue
            for source in words[:-1]:
                assert source.rstrip("/") in allowed, f"COPY {source} is ignored"
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
