"""The status API over real HTTP (httpx -> uvicorn on a loopback port), after a small real
scenario through the scheduler on the local broker: shapes checked against /openapi.json,
numbers against what the scheduler published, probes, metrics and the bearer token."""

import asyncio
import contextlib
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from schemas.export import ASYNCAPI
from schemas.topics import Topic
from services.common.http import serve
from services.common.kafka import Outgoing, ensure_topics
from services.common.local_broker import free_port, start_broker
from services.common.metrics import Metrics
from services.common.publish import publish, validate_lines
from services.common.settings import Settings
from services.scheduler.status import OPENAPI, status_app
from services.scheduler.store.sql import SchedulerStore, StatusQueries, make_engine
from tests import builders as b
from tests.conftest import eventually
from tests.integration.scheduler_harness import running_scheduler, settings_for
from tests.kafka_helpers import read_all

pytestmark = pytest.mark.integration
ASYNCAPI_BYTES = Path(ASYNCAPI).read_bytes()

ALGER, ORAN = "capago-alger", "capago-oran"
OUTAGE = "france-visas-2025-12-03"
MOVED_REASONS = {"same_day", "next_days", "deadline_kept", "deadline_missed", "moved_again"}
UNPLACED_REASONS = {"no_capacity_in_horizon", "group_cannot_stay_together"}


# -- a small scenario: two centres, one outage; Oran too full to place everyone --------------

def scenario_lines() -> tuple[list[str], list[str]]:
    """(calendars and bookings, outages) as JSON Lines: 8 displaced at Alger (all can move),
    6 at Oran, where only 3 free places are left that day."""
    calendars = []
    for centre_id, name in ((ALGER, "Capago Alger"), (ORAN, "Capago Oran")):
        info = {**b.centre(centre_id), "name": name, "city": name.split()[-1]}
        calendars.append(b.line("visa.centre.registered.v1", info))
    day = [b.at(3, h, m) for h in range(9, 17) for m in (0, 30)]  # 16 slots, 09:00-16:30
    calendars.append(b.line("visa.slots.published.v1",
                            b.slots(day + [t + dt.timedelta(days=1) for t in day], capacity=2,
                                    centre_id=ALGER)))
    calendars.append(b.line("visa.slots.published.v1", b.slots(day, capacity=1, centre_id=ORAN)))
    in_outage = [b.at(3, 14), b.at(3, 14, 30), b.at(3, 15), b.at(3, 15, 30)]
    for n, start in enumerate(in_outage * 2):
        calendars.append(b.line("visa.booking.created.v1",
                                b.booking(f"AL-{n}", start, centre_id=ALGER)))
    for n, start in enumerate([*in_outage, b.at(3, 16), b.at(3, 16, 30)]):
        calendars.append(b.line("visa.booking.created.v1",
                                b.booking(f"OR-{n}", start, centre_id=ORAN)))
    for n, start in enumerate([b.at(3, h, m) for h in range(9, 13) for m in (0, 30)][:7]):
        calendars.append(b.line("visa.booking.created.v1",
                                b.booking(f"OR-early-{n}", start, centre_id=ORAN)))
    outages = [b.line("visa.outage.declared.v1",
                      b.outage(OUTAGE, b.at(3, 14), b.at(3, 17), centre_ids=(ALGER, ORAN)),
                      subject="")]
    return calendars, outages


def messages_of(lines: list[str]) -> list[Outgoing]:
    messages, errors = validate_lines(lines)
    assert not errors, errors
    return messages


def consumed(metrics: Metrics) -> int:
    return int(sum(s.value for m in metrics.consumed.collect() for s in m.samples
                   if s.name.endswith("_total")))


@dataclass
class Running:
    settings: Settings
    metrics: Metrics
    store: SchedulerStore
    queries: StatusQueries


@contextlib.asynccontextmanager
async def scheduler_on_local_broker(tmp: Path) -> AsyncIterator[Running]:
    """A local broker of its own and the real scheduler on it, with a SQLite store."""
    broker = start_broker()
    try:
        settings = settings_for(broker.bootstrap, f"sqlite+aiosqlite:///{tmp / 'sched.db'}",
                                partitions=2)
        await ensure_topics(settings)
        store = await SchedulerStore.open(settings.database_url)  # the tables, before both
        try:
            async with running_scheduler(settings) as metrics:
                yield Running(settings, metrics, store, StatusQueries(store.engine))
        finally:
            await store.close()
    finally:
        broker.stop()


async def play_calendars(run: Running, calendars: list[str]) -> None:
    await publish(run.settings, messages_of(calendars))

    async def read() -> bool:
        return consumed(run.metrics) >= len(calendars)

    await eventually(read, timeout=30)


async def play_outages(run: Running, outages: list[str], plans: int) -> None:
    await publish(run.settings, messages_of(outages))

    async def planned() -> bool:
        return len(await run.queries.plans()) >= plans

    await eventually(planned, timeout=30)


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """`app` on uvicorn at a free loopback port; its base URL once it answers."""
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, port, stop, host="127.0.0.1"))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            async def up() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await client.get("/healthz")).status_code == 200
                return False
            await eventually(up, timeout=10, interval=0.05)
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


# -- a tiny JSON Schema check (the subset the OpenAPI document uses) -------------------------

def check(value: Any, schema: dict[str, Any], path: str = "$") -> None:
    """Assert `value` matches `schema` of OPENAPI: $ref, allOf, type, const, enum,
    properties/required (no other properties allowed), items, additionalProperties,
    minimum, format date-time."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        check(value, OPENAPI["components"]["schemas"][name], path)
        return
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            while "$ref" in part:
                part = OPENAPI["components"]["schemas"][part["$ref"].rsplit("/", 1)[-1]]
            merged["properties"].update(part["properties"])
            merged["required"] += part["required"]
        check(value, merged, path)
        return
    types = schema.get("type")
    if types is not None:
        kinds = {"object": dict, "array": list, "string": str, "boolean": bool,
                 "integer": int, "number": (int, float), "null": type(None)}
        names = types if isinstance(types, list) else [types]
        assert any(isinstance(value, kinds[n]) and not (n == "integer" and isinstance(value, bool))
                   for n in names), f"{path}: {value!r} is not {types}"
    if "const" in schema:
        assert value == schema["const"], f"{path}: {value!r} != {schema['const']!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{path}: {value} < {schema['minimum']}"
    if schema.get("format") == "date-time" and isinstance(value, str):
        assert dt.datetime.fromisoformat(value).tzinfo is not None, f"{path}: {value}"
    if isinstance(value, dict) and "properties" in schema:
        missing = set(schema.get("required", [])) - set(value)
        assert not missing, f"{path}: missing {sorted(missing)}"
        extra = set(value) - set(schema["properties"])
        assert not extra, f"{path}: undocumented {sorted(extra)}"
        for key, sub in schema["properties"].items():
            if key in value:
                check(value[key], sub, f"{path}.{key}")
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            check(item, schema["additionalProperties"], f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], f"{path}[{i}]")


def documented(response: httpx.Response, route: str) -> Any:
    """The JSON body, checked against the schema OPENAPI gives `route` for its status."""
    operation = OPENAPI["paths"][route]["get"]
    described = operation["responses"][str(response.status_code)]
    media = response.headers["content-type"].split(";")[0]
    assert media in described["content"], (route, media)
    body = response.json()
    check(body, described["content"][media]["schema"])
    return body


# -- the fixture: the scenario played once, the real status app served --------------------

@dataclass
class Served:
    base: str
    run: Running
    published: list[dict[str, Any]]


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    calendars, outages = scenario_lines()
    async with scheduler_on_local_broker(tmp_path_factory.mktemp("status")) as run:
        await play_calendars(run, calendars)
        await play_outages(run, outages, plans=2)

        async def relayed() -> list[dict[str, Any]]:
            events = await read_all(run.settings.kafka.bootstrap_servers or "", Topic.RESCHEDULES)
            done = [e for e in events if e["type"] == "visa.plan.completed.v1"]
            return events if len(done) == 2 else []

        published = await eventually(relayed, timeout=30)
        async with serving(status_app(run.settings, run.store, run.metrics.registry)) as base:
            yield Served(base, run, published)


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as c:
        yield c


# -- the tests ---------------------------------------------------------------------------------

async def test_probes(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert documented(health, "/healthz") == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert documented(ready, "/readyz") == {"status": "ready", "checked": ["broker", "database"]}


async def test_readyz_is_503_when_the_database_is_unreachable(served: Served) -> None:
    closed = free_port()  # nothing listens there
    store = SchedulerStore(make_engine(f"postgresql+asyncpg://reslot@127.0.0.1:{closed}/reslot"))
    app = status_app(served.run.settings, store, Metrics().registry)
    try:
        async with serving(app) as base, httpx.AsyncClient(base_url=base) as c:
            response = await c.get("/readyz")
            assert response.status_code == 503
            body = documented(response, "/readyz")
            assert body["status"] == "not ready"
            assert set(body["failed"]) == {"database"}  # the broker answers
            assert (await c.get("/healthz")).status_code == 200  # alive, just not ready
    finally:
        await store.close()


async def test_metrics_count_the_plans(client: httpx.AsyncClient, served: Served) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    moved = {e["subject"]: 0 for e in served.published}
    for e in served.published:
        if e["type"] == "visa.appointment.rescheduled.v1":
            moved[e["subject"]] += 1
    for centre_id, n in moved.items():
        assert f'reslot_moved_total{{centre="{centre_id}"}} {float(n)}' in text
    assert re.search(r"^reslot_plans_total\{status=\"\w+\"\} 2\.0$", text, re.M), text


async def test_outages(client: httpx.AsyncClient, served: Served) -> None:
    response = await client.get("/api/outages")
    assert response.status_code == 200
    outages = documented(response, "/api/outages")
    assert [o["outage_id"] for o in outages] == [OUTAGE]
    outage = outages[0]
    assert outage["active"] is True
    assert sorted(outage["centres"]) == [ALGER, ORAN]
    assert outage["reason"] == "France-Visas portal maintenance"
    assert dt.datetime.fromisoformat(outage["start"]) == b.at(3, 14)
    completed = {e["data"]["centre_id"]: e["data"] for e in served.published
                 if e["type"] == "visa.plan.completed.v1"}
    by_centre = {p["centre_id"]: p for p in outage["plans"]}
    assert set(by_centre) == {ALGER, ORAN}
    for centre_id, plan in by_centre.items():
        for k in ("plan_id", "displaced", "moved", "unplaced", "cost", "bound", "status"):
            assert plan[k] == completed[centre_id][k], (centre_id, k)
    assert (by_centre[ALGER]["displaced"], by_centre[ALGER]["unplaced"]) == (8, 0)
    assert (by_centre[ORAN]["displaced"], by_centre[ORAN]["moved"],
            by_centre[ORAN]["unplaced"]) == (6, 3, 3)
    assert (outage["displaced"], outage["moved"], outage["unplaced"]) == (14, 11, 3)


async def test_centre(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/centres/{ORAN}")
    assert response.status_code == 200
    centre = documented(response, "/api/centres/{centre_id}")
    assert centre["centre"]["centre_id"] == ORAN
    assert centre["centre"]["name"] == "Capago Oran"
    assert centre["capacity"] == 16
    assert (centre["displaced"], centre["moved"], centre["unplaced"]) == (6, 3, 3)
    assert [p["centre_id"] for p in centre["plans"]] == [ORAN]
    unknown = await client.get("/api/centres/nowhere")
    assert unknown.status_code == 404
    assert documented(unknown, "/api/centres/{centre_id}") == {"error": "unknown centre"}


async def test_plans_with_decisions_and_reason_codes(client: httpx.AsyncClient,
                                                     served: Served) -> None:
    listed = await client.get("/api/plans")
    assert listed.status_code == 200
    plans = documented(listed, "/api/plans")
    assert len(plans) == 2
    decided = {e["data"]["booking_id"]: e for e in served.published
               if e["type"] in ("visa.appointment.rescheduled.v1", "visa.appointment.unplaced.v1")}
    seen = set()
    for summary in plans:
        response = await client.get(f"/api/plans/{summary['plan_id']}")
        assert response.status_code == 200
        plan = documented(response, "/api/plans/{plan_id}")
        assert {k: plan[k] for k in summary} == summary
        assert len(plan["decisions"]) == plan["displaced"]
        assert sum(d["kind"] == "moved" for d in plan["decisions"]) == plan["moved"]
        for d in plan["decisions"]:
            event = decided[d["booking_id"]]
            assert event["data"]["plan_id"] == plan["plan_id"]
            assert d["reason"] == event["data"]["reason"]
            if d["kind"] == "moved":
                assert d["reason"] in MOVED_REASONS
                assert event["type"] == "visa.appointment.rescheduled.v1"
                assert (dt.datetime.fromisoformat(d["to_start"])
                        == dt.datetime.fromisoformat(event["data"]["to_start"]))
                assert (dt.datetime.fromisoformat(d["from_start"])
                        == dt.datetime.fromisoformat(event["data"]["from_start"]))
            else:
                assert d["reason"] in UNPLACED_REASONS
                assert d["to_start"] is None
                assert event["type"] == "visa.appointment.unplaced.v1"
            seen.add(d["booking_id"])
    assert seen == set(decided)
    unknown = await client.get("/api/plans/no-such-plan")
    assert unknown.status_code == 404
    documented(unknown, "/api/plans/{plan_id}")


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc == json.loads(json.dumps(OPENAPI))
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http",
                                                              "scheme": "bearer"}
    operation_ids = []
    for route, item in doc["paths"].items():
        assert route.startswith("/")
        operation = item["get"]
        operation_ids.append(operation["operationId"])
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", route)), route
        assert "200" in operation["responses"]
        for status, answer in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status)
            assert answer["description"]
            for media in answer.get("content", {}).values():
                _refs_resolve(media["schema"], doc)
    assert len(operation_ids) == len(set(operation_ids))
    # every route the app answers is described, and nothing else
    for route in doc["paths"]:
        concrete = route.replace("{centre_id}", ALGER).replace("{plan_id}", "x")
        assert (await client.get(concrete)).status_code in (200, 404), route


def _refs_resolve(schema: Any, doc: dict[str, Any]) -> None:
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            assert name in doc["components"]["schemas"], schema["$ref"]
        for value in schema.values():
            _refs_resolve(value, doc)
    elif isinstance(schema, list):
        for value in schema:
            _refs_resolve(value, doc)


async def test_asyncapi_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.content == ASYNCAPI_BYTES
    assert response.json()["asyncapi"].startswith("3.")


async def test_read_only_and_headers(client: httpx.AsyncClient) -> None:
    posted = await client.post("/api/outages", json={})
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"
    head = await client.head("/api/outages")
    assert head.status_code == 200
    assert head.content == b""
    page = await client.get("/")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]


@pytest.fixture
def token_settings(served: Served) -> Iterator[Settings]:
    return served.run.settings.model_copy(update={"api_token": SecretStr("s3cret-token")})


async def test_bearer_token_is_enforced_when_set(served: Served, token_settings: Settings,
                                                 ) -> None:
    app = status_app(token_settings, served.run.store, served.run.metrics.registry)
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as c:
        for route in ("/", "/api/outages", f"/api/centres/{ALGER}", "/api/plans", "/metrics",
                      "/openapi.json", "/asyncapi.json"):
            refused = await c.get(route)
            assert refused.status_code == 401, route
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert refused.json() == {"error": "missing or wrong bearer token"}
            wrong = await c.get(route, headers={"Authorization": "Bearer s3cret-tokem"})
            assert wrong.status_code == 401, route
            right = await c.get(route, headers={"Authorization": "Bearer s3cret-token"})
            assert right.status_code == 200, route
        for probe in ("/healthz", "/readyz"):  # the orchestrator's probes carry no token
            assert (await c.get(probe)).status_code == 200
