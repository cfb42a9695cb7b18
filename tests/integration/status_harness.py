"""What tests/integration/test_status_api.py serves and checks against: a small real
scenario through the scheduler on the local broker (two centres, one outage; Oran too full
to place everyone), the web front on a loopback port, and a checker of JSON values against
the committed OpenAPI document."""

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from schemas.topics import Topic
from services.common.kafka import Outgoing, ensure_topics
from services.common.local_broker import free_port, start_broker
from services.common.metrics import Metrics
from services.common.publish import publish, validate_lines
from services.common.settings import Settings
from services.scheduler.store.sql import SchedulerStore
from services.web.front import web_front
from services.web.openapi import COMMITTED
from services.web.readmodel import ReadModel
from services.web.server import serve
from tests import builders as b
from tests.conftest import eventually
from tests.integration.scheduler_harness import running_scheduler, settings_for
from tests.kafka_helpers import read_all

OPENAPI: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
ALGER, ORAN = "capago-alger", "capago-oran"
OUTAGE = "france-visas-2025-12-03"


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
    queries: ReadModel


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
                yield Running(settings, metrics, store, ReadModel(store.engine))
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
    """Assert `value` matches `schema` of OPENAPI: $ref, allOf, anyOf, type, const, enum,
    properties/required (no other properties allowed), items, additionalProperties,
    minimum, format date-time."""
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                check(value, option, path)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{path}: {value!r} matches no option: {errors}")
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
        kinds: dict[str, type | tuple[type, ...]] = {
            "object": dict, "array": list, "string": str, "boolean": bool, "integer": int,
            "number": (int, float), "null": type(None)}
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


# -- the scenario played once, the real status app serving it ------------------------------

@dataclass
class Served:
    base: str
    run: Running
    published: list[dict[str, Any]]


@contextlib.asynccontextmanager
async def scenario_served(tmp: Path) -> AsyncIterator[Served]:
    """The scenario played and published, and the whole web front serving its store, as
    `reslot web` and `reslot dev` serve it."""
    calendars, outages = scenario_lines()
    async with scheduler_on_local_broker(tmp) as run:
        await play_calendars(run, calendars)
        await play_outages(run, outages, plans=2)

        async def relayed() -> list[dict[str, Any]]:
            events = await read_all(run.settings.kafka.bootstrap_servers or "", Topic.RESCHEDULES)
            done = [e for e in events if e["type"] == "visa.plan.completed.v1"]
            return events if len(done) == 2 else []

        published = await eventually(relayed, timeout=30)
        # the whole web front, as `reslot web` and `reslot dev` serve it
        async with serving(web_front(run.settings, run.store.engine,
                                     run.metrics.registry)) as base:
            yield Served(base, run, published)


def refs_resolve(schema: Any, doc: dict[str, Any]) -> None:
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            assert name in doc["components"]["schemas"], schema["$ref"]
        for value in schema.values():
            refs_resolve(value, doc)
    elif isinstance(schema, list):
        for value in schema:
            refs_resolve(value, doc)
