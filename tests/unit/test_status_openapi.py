"""The front's OpenAPI document is FastAPI's, committed, and kept in step; the front never
loads the solver."""

import json
import subprocess
import sys

from services.web.openapi import COMMITTED, generated, text


def test_the_committed_document_is_what_the_app_generates() -> None:
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == text(generated()), (
        f"{COMMITTED} is stale: run `python -m services.web.openapi` and commit it")


def test_every_json_answer_has_a_documented_shape() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    for route, item in document["paths"].items():
        if route.startswith(("/r/", "/sms/")):
            continue  # the applicants' routes: below
        operation = item["get"]
        assert set(item) == {"get"}, route  # read-only
        for status, answer in operation["responses"].items():
            for media, content in answer.get("content", {}).items():
                if media == "application/json" and route not in ("/openapi.json",
                                                                  "/asyncapi.json"):
                    ref = content["schema"].get("$ref") or content["schema"]["items"]["$ref"]
                    assert ref.rsplit("/", 1)[-1] in schemas, (route, status)
        protected = route not in ("/healthz", "/readyz")
        assert ("security" in operation) == protected, route
        assert ("401" in operation["responses"]) == protected, route
    for name in ("Outage", "Centre", "Plan", "PlanSummary", "Decision", "Error"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "/docs" not in document["paths"]
    assert "/redoc" not in document["paths"]


def test_the_applicants_routes_are_documented_and_the_console_is_not() -> None:
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    paths = document["paths"]
    assert set(paths["/r/{token}"]) == {"get"}
    assert set(paths["/r/{token}/answer"]) == {"get"}
    for action in ("confirm", "change", "decline"):
        operation = paths[f"/r/{{token}}/{action}"]["post"]
        assert "security" not in operation  # the signed link is the key, not a token
        assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
    answer = paths["/r/{token}/answer"]["get"]["responses"]["200"]["content"]
    assert answer["application/json"]["schema"]["$ref"].endswith("/ReplyAnswer")
    inbound = paths["/sms/inbound"]["post"]
    assert inbound["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"].endswith("/SmsAnswer")
    assert not [p for p in paths if p.startswith("/ops")]  # operators' pages, not an API


def test_importing_the_front_never_imports_the_solver() -> None:
    probe = ("import sys, services.web, services.web.app, services.web.openapi, "
             "services.web.server, services.web.front; "
             "print(sorted(m for m in sys.modules if m.startswith('services.scheduler.solver') "
             "or m.startswith('ortools')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout
