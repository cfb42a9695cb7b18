"""Crash-test harness: Reslot's services as child processes, SIGKILLed and restarted.

The pieces the reliability tests share:

- `Service`: `python -m services.cli scheduler|notifier` as a child process configured by its
  environment only, with a log file per start; killed by its own pid, never by name.
- `make_scenario`: a seeded scenario of centres, calendars, bookings (with moves and
  cancellations) and waves of outages. The outages of one wave name disjoint sets of centres,
  so their order does not matter; a wave is published once the one before is planned, as
  outages hours apart would be. The same file run through `reslot plan` gives the answer.
- `Expected`: what `reslot plan` says (the command, or its code in-process wave by wave with
  `dry_run_waves`); `check_outputs` compares it with what the topics and the SMTP and SMS
  sinks hold, and counts same-id copies, e-mail resends and SMS key repeats (`Outcome`).
- `SchedulerDb`: read-only looks at a scheduler's store (positions, outbox, state);
  `last_offsets` reads the real end of each partition (Tansu's ListOffsets lags).
- `assignments` / `until_split`: which partitions each consumer owns, from the assignment
  lines the consumers log (the scheduler's Positions, FastStream's for the notifier);
  `split_problems` says what keeps them from a co-partitioned split.
- `Killer`: SIGKILLs one service at seeded moments (once it has done some work since its
  last start, or after a while idle) and restarts it.
"""

import asyncio
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from schemas.topics import INPUT_TOPICS, Topic
from services.common.kafka import Outgoing
from services.common.local_broker import free_port
from services.common.publish import validate_lines
from services.common.settings import Settings
from services.notifier.channels.smtp import message_id
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.scheduler.store import tables as t
from services.scheduler.store.sql import make_engine
from tests.integration.scheduler_harness import reslot
from tests.kafka_helpers import read_all

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Africa/Algiers")
ANNOUNCED = dt.datetime(2025, 11, 25, 10, 0, tzinfo=TZ)
DECISIONS = ("visa.appointment.rescheduled.v1", "visa.appointment.unplaced.v1")
PLAN_DONE = "visa.plan.completed.v1"
SCHEDULER_INPUTS = (*[str(x) for x in INPUT_TOPICS], str(Topic.OUTAGES))
FIRST = ["Zoubida", "Abdelghani", "Chahinez", "Noureddine", "Ouardia", "Lyes", "Souhila",
         "Tarek", "Hayet", "Mourad", "Djamila", "Rachid", "Fadila", "Samir"]
LAST = ["Khelladi", "Benmerabet", "Ouchene", "Ait-Hamou", "Belhadj", "Zeghdoud",
        "Haddadj", "Medjdoub", "Larbaoui", "Sellami", "Bensaada", "Kherbouche"]


# -- processes --------------------------------------------------------------------------------


def service_env(**values: str | int | float) -> dict[str, str]:
    """The test's environment without any KAFKA_ / RESLOT_ / OTEL_ setting, plus `values`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "RESLOT_", "OTEL_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update({k: str(v) for k, v in values.items()})
    return env


def scheduler_env(bootstrap: str, database_url: str, **extra: str | int | float) -> dict[str, str]:
    values: dict[str, str | int | float] = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "RESLOT_DATABASE_URL": database_url,
        "RESLOT_HTTP_PORT": free_port()}
    return service_env(**{**values, **extra})


def notifier_env(bootstrap: str, database_url: str, smtp: SmtpSink, sms: SmsSink,
                 instance_id: str, **extra: str | int | float) -> dict[str, str]:
    values: dict[str, str | int | float] = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "RESLOT_NOTIFIER_DATABASE_URL": database_url,
        "RESLOT_HTTP_PORT": free_port(),
        "RESLOT_SMTP_PORT": smtp.port,
        "RESLOT_SMS_URL": sms.url,
        "RESLOT_QUIET_HOURS_START": 0,  # equal start and end: no quiet hours
        "RESLOT_QUIET_HOURS_END": 0,
        "RESLOT_EMAIL_RATE_PER_S": 500,
        "RESLOT_SMS_RATE_PER_S": 500,
        "RESLOT_SEND_BACKOFF_BASE_S": 0.05,
        "RESLOT_GRACEFUL_TIMEOUT_S": 5,
        "RESLOT_NOTIFIER_INSTANCE_ID": instance_id,
        "RESLOT_NOTIFIER_SWEEP_INTERVAL_S": 0.2,
        "RESLOT_NOTIFIER_SESSION_TIMEOUT_MS": 3000,
        "RESLOT_NOTIFIER_HEARTBEAT_INTERVAL_MS": 500,
    }
    return service_env(**{**values, **extra})


def command(*args: str, **env: str | int | float) -> subprocess.CompletedProcess[str]:
    """Run `reslot ARGS` (python -m services.cli) with `env` on a clean environment."""
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT,
                          env=service_env(**env), capture_output=True, text=True, check=True,
                          timeout=300)


class Service:
    """One Reslot service as a child process; each start logs to a file of its own."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.command, self.env, self.log_dir = name, command, env, log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.kills = 0
        self.started_at = 0.0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        assert not self.alive, f"{self.name} is already running"
        log = self.log_dir / f"{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", self.command], cwd=ROOT, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started_at = time.monotonic()

    def kill(self) -> None:
        """SIGKILL, by this process's own pid."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def terminate(self, timeout: float) -> tuple[int | None, float]:
        """SIGTERM; (exit code, seconds it took) or (None, timeout) if it did not exit."""
        assert self.process is not None
        began = time.monotonic()
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None, timeout
        return code, time.monotonic() - began

    def stop_if_running(self) -> None:
        if self.alive:
            self.kill()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def current_log(self) -> str:
        """The log of the current (last) start."""
        return self.logs[-1].read_text(errors="replace") if self.logs else ""

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} ---\n" + self.log_text()[-chars:]


# -- scenario ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None
    phone: str | None


@dataclass
class Scenario:
    centres: list[str]
    calendars: list[str]  # registrations, slots, bookings and their moves and cancellations
    waves: list[list[str]]  # outage events; a wave's events name disjoint centre sets
    people: list[Person] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.calendars + [line for wave in self.waves for line in wave]

    def write(self, path: Path) -> Path:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path

    def personal_data(self) -> set[str]:
        """Every name, e-mail address and phone number (also without its '+') in the input."""
        found: set[str] = set()
        for p in self.people:
            found.add(p.name)
            if p.email:
                found.add(p.email)
            if p.phone:
                found |= {p.phone, p.phone.lstrip("+")}
        return found


def _event(kind: str, eid: str, subject: str, time: dt.datetime, data: dict[str, Any]) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": "booking-system/chaos",
                       "type": kind, "time": time.isoformat(), "subject": subject,
                       "data": data}, ensure_ascii=False)


def centres_on_partitions(partitions: int, per_partition: int, prefix: str = "vc") -> list[str]:
    """Centre ids that the default (murmur2) partitioner spreads `per_partition` on each."""
    chosen: dict[int, list[str]] = defaultdict(list)
    n = 0
    while any(len(chosen[p]) < per_partition for p in range(partitions)):
        name = f"{prefix}-{n:03d}"
        p = (murmur2(name.encode()) & 0x7FFFFFFF) % partitions
        if len(chosen[p]) < per_partition:
            chosen[p].append(name)
        n += 1
    return sorted(c for names in chosen.values() for c in names)


def partition_of(centre: str, partitions: int) -> int:
    return int(murmur2(centre.encode()) & 0x7FFFFFFF) % partitions


def _working_days(first: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    d = first
    while len(days) < count:
        if d.weekday() not in (4, 5):  # Friday and Saturday: the weekend in Algeria
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def make_scenario(seed: int, centres: Sequence[str], *, days: int = 8, booked_days: int = 4,
                  waves: int = 3) -> Scenario:
    """Calendars of `days` working days from Mon 1 Dec 2025, the first `booked_days` mostly
    booked; then `waves` of outages on distinct booked days (the last wave also revises an
    outage of the first)."""
    rng = random.Random(seed)
    scenario = Scenario(list(centres), [], [])
    opened = dt.datetime(2025, 11, 1, 9, 0, tzinfo=TZ)
    calendar_days = _working_days(dt.date(2025, 12, 1), days)
    n = 0
    for centre in centres:
        scenario.calendars.append(_event(
            "visa.centre.registered.v1", f"{centre}-registered", centre, opened,
            {"centre_id": centre, "name": f"Centre {centre}", "city": "Alger", "country": "DZ",
             "timezone": "Africa/Algiers", "address": "Rue Didouche Mourad, Alger",
             "languages": ["fr", "ar"]}))
        capacity = {"short_stay": rng.choice([2, 3]), "long_stay": 1}
        for service, cap in capacity.items():
            slots = [{"start": s.isoformat(), "duration_min": 30, "capacity": cap}
                     for day in calendar_days for s in _slot_times(day)]
            scenario.calendars.append(_event(
                "visa.slots.published.v1", f"{centre}-{service}-slots", centre, opened,
                {"centre_id": centre, "service": service, "slots": slots}))
        later: list[str] = []
        for day in calendar_days[:booked_days]:
            for start in _slot_times(day):
                for service, cap in capacity.items():
                    taken = cap if start.hour >= 14 else rng.randint(cap // 2, cap)
                    family = f"fam-{centre}-{n}" if taken >= 2 and rng.random() < 0.15 else None
                    for _ in range(taken):
                        n += 1
                        booking_id = f"{centre}-b{n:05d}"
                        person = _person(rng, n)
                        scenario.people.append(person)
                        scenario.calendars.append(_booking(rng, centre, service, start,
                                                           booking_id, person, family))
                        later += _afterwards(rng, centre, booking_id, start, calendar_days,
                                             family)
        scenario.calendars += later
    scenario.waves = _outage_waves(rng, list(centres), calendar_days[:booked_days], waves)
    return scenario


def _slot_times(day: dt.date) -> list[dt.datetime]:
    first = dt.datetime.combine(day, dt.time(8, 0), TZ)
    return [first + dt.timedelta(minutes=30 * i) for i in range(18)]  # 08:00-16:30


def _person(rng: random.Random, n: int) -> Person:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    email = f"{name.split()[0].lower()}.{n}@courriel-prive.dz" if rng.random() < 0.85 else None
    phone = f"+2136{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.7 else None
    return Person(name, email, phone)


def _booking(rng: random.Random, centre: str, service: str, start: dt.datetime,
             booking_id: str, person: Person, family: str | None) -> str:
    applicant: dict[str, str] = {"name": person.name,
                                 "language": rng.choices(["fr", "ar", "en"], [5, 4, 1])[0]}
    if person.email:
        applicant["email"] = person.email
    if person.phone:
        applicant["phone"] = person.phone
    data: dict[str, Any] = {
        "booking_id": booking_id, "centre_id": centre, "service": service,
        "slot_start": start.isoformat(), "applicant": applicant,
        "category": rng.choices(["standard", "official", "medical"], [90, 6, 4])[0],
    }
    if family:
        data["group_id"] = family
    if rng.random() < 0.3:
        data["travel_date"] = (start.date() + dt.timedelta(days=rng.randint(16, 30))).isoformat()
    created = ANNOUNCED - dt.timedelta(days=rng.randint(2, 20))
    return _event("visa.booking.created.v1", f"{booking_id}-created", centre, created, data)


def _afterwards(rng: random.Random, centre: str, booking_id: str, start: dt.datetime,
                days: list[dt.date], family: str | None) -> list[str]:
    """Some single bookings are moved by the booking system, then some of those cancelled."""
    if family or rng.random() > 0.06:
        return []
    when = ANNOUNCED - dt.timedelta(hours=2)
    target = rng.choice(_slot_times(rng.choice(days[len(days) // 2:])))
    out = [_event("visa.booking.moved.v1", f"{booking_id}-moved", centre, when,
                  {"booking_id": booking_id, "centre_id": centre,
                   "slot_start": target.isoformat()})]
    if rng.random() < 0.4:
        out.append(_event("visa.booking.cancelled.v1", f"{booking_id}-cancelled", centre,
                          when + dt.timedelta(minutes=5),
                          {"booking_id": booking_id, "centre_id": centre}))
    return out


def _outage_waves(rng: random.Random, centres: list[str], days: list[dt.date],
                  waves: int) -> list[list[str]]:
    out: list[list[str]] = []
    first_outage: tuple[str, list[str], dt.datetime, dt.datetime] | None = None
    for w in range(waves):
        day = days[w % len(days)]
        pool = centres[:]
        rng.shuffle(pool)
        wave: list[str] = []
        if w == waves - 1 and first_outage is not None and w > 0:
            outage_id, named, start, end = first_outage
            wave.append(_event("visa.outage.revised.v1", f"{outage_id}-revised", "",
                               ANNOUNCED + dt.timedelta(hours=20),
                               {"outage_id": outage_id, "start": start.isoformat(),
                                "end": (end + dt.timedelta(hours=1)).isoformat()}))
            pool = [c for c in pool if c not in named]
        while pool:
            size = min(len(pool), rng.randint(1, 3))
            named, pool = pool[:size], pool[size:]
            start = dt.datetime.combine(day, dt.time(rng.randint(8, 12), 0), TZ)
            end = start + dt.timedelta(hours=rng.randint(2, 4))
            outage_id = f"outage-w{w}-{named[0]}"
            data: dict[str, Any] = {"outage_id": outage_id, "centre_ids": sorted(named),
                                    "start": start.isoformat(), "end": end.isoformat(),
                                    "reason": "Panne du portail France-Visas",
                                    "notice_min": 1440}
            if rng.random() < 0.3:
                data["services"] = ["short_stay"]
            subject = named[0] if size == 1 else ""  # one centre: keyed by it
            wave.append(_event("visa.outage.declared.v1", outage_id, subject, ANNOUNCED, data))
            if first_outage is None:
                first_outage = (outage_id, named, start, end)
        out.append(wave)
    return out


def messages_of(lines: Iterable[str]) -> list[Outgoing]:
    messages, errors = validate_lines(lines)
    assert not errors, errors[:3]
    return messages


# -- what `reslot plan` says -------------------------------------------------------------------


def _decision_key(event: dict[str, Any]) -> str:
    """One decision per booking and displacement (a revision may displace a booking again
    for the same outage: that is another plan)."""
    return f"{event['data']['plan_id']}|{event['data']['booking_id']}"


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    """An output event without what legitimately differs between runs (the solve time)."""
    if event["type"] != PLAN_DONE:
        return event
    return {**event, "data": {k: v for k, v in event["data"].items() if k != "solve_ms"}}


@dataclass
class Expected:
    outputs: list[dict[str, Any]]

    @classmethod
    def of(cls, path: Path) -> "Expected":
        result = reslot("plan", str(path))
        return cls([json.loads(x) for x in result.stdout.splitlines() if x.strip()])

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [e for e in self.outputs if e["type"] in types]

    @property
    def decisions(self) -> dict[str, dict[str, Any]]:
        return {_decision_key(e): comparable(e) for e in self.of_type(*DECISIONS)}

    @property
    def plans(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: comparable(e) for e in self.of_type(PLAN_DONE)}


    @property
    def notifications(self) -> dict[str, dict[str, Any]]:
        return {e["data"]["notification_id"]: e
                for e in self.of_type("visa.notification.requested.v1")}

    @property
    def superseded(self) -> set[str]:
        """Notification ids a later decision of the same booking replaced (CONTRACT v1.1):
        the notifier sends them only if it had done so before the replacement arrived."""
        return {s for e in self.notifications.values() for s in e["data"].get("supersedes", ())}

    @property
    def emails(self) -> set[str]:
        """Message-IDs the SMTP server must receive, one per notification with an e-mail
        that nothing superseded."""
        return {message_id(n) for n, e in self.notifications.items()
                if e["data"]["recipient"].get("email") and n not in self.superseded}

    @property
    def sms(self) -> set[str]:
        """Idempotency keys the gateway must receive (notifications nothing superseded)."""
        return {n for n, e in self.notifications.items()
                if e["data"]["recipient"].get("phone") and n not in self.superseded}

    @property
    def may_send(self) -> tuple[set[str], set[str]]:
        """(Message-IDs, SMS keys) of superseded notifications: sent or not, never twice."""
        notes = self.notifications
        return ({message_id(n) for n in self.superseded
                 if n in notes and notes[n]["data"]["recipient"].get("email")},
                {n for n in self.superseded
                 if n in notes and notes[n]["data"]["recipient"].get("phone")})


def default_settings() -> Settings:
    """The defaults the services run with here (their environment has no RESLOT_ policy)."""
    return Settings.model_construct()


@dataclass
class Waves:
    expected: Expected  # every output, in order, as `reslot plan` writes them
    added: list[dict[str, dict[str, Any]]]  # by wave: the output events (by id) it adds

    def plans(self, wave: int) -> set[str]:
        return {i for i, e in self.added[wave].items() if e["type"] == PLAN_DONE}

    def notifications(self, wave: int) -> set[str]:
        return {e["data"]["notification_id"] for e in self.added[wave].values()
                if e["type"] == "visa.notification.requested.v1"}


async def dry_run_waves(scenario: Scenario) -> Waves:
    """`reslot plan`'s own code (dry_run over the Pipeline) on the scenario up to each wave:
    what each wave adds (a revision re-plans an outage of an earlier wave)."""
    from services.scheduler.app import planning_config
    from services.scheduler.dryrun import dry_run
    from services.scheduler.pipeline import Pipeline

    config = planning_config(default_settings())
    added: list[dict[str, dict[str, Any]]] = []
    events: list[dict[str, Any]] = []
    for n in range(1, len(scenario.waves) + 1):
        lines = scenario.calendars + [x for wave in scenario.waves[:n] for x in wave]
        before = {e["id"] for e in events}
        events = [json.loads(r.value) for r in
                  await dry_run(lines, lambda store: Pipeline(store, config))]
        added.append({e["id"]: e for e in events if e["id"] not in before})
    return Waves(Expected(events), added)


# -- what the running system did ---------------------------------------------------------------


async def read_topic(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """read_all, tolerant of a broker that is briefly unreachable (faults): [] then."""
    try:
        return await read_all(bootstrap, topic)
    except (KafkaError, OSError, TimeoutError):
        return []


async def plans_on_topic(bootstrap: str) -> set[str]:
    return {e["id"] for e in await read_topic(bootstrap, Topic.RESCHEDULES)
            if e["type"] == PLAN_DONE}


async def last_offsets(bootstrap: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    """The offset of the last record of every non-empty partition.

    Tansu 0.6 answers ListOffsets(latest) with the last *batch*'s base offset + 1, short of
    the records a batched produce appended after it; so read from there to the real end.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for topic in topics
               for p in sorted(consumer.partitions_for_topic(topic) or ())]
        listed = await consumer.end_offsets(tps)
        nonempty = [tp for tp in tps if listed[tp] > 0]
        if not nonempty:
            return {}
        consumer.assign(nonempty)
        for tp in nonempty:
            consumer.seek(tp, listed[tp] - 1)
        last: dict[tuple[str, int], int] = {}
        async with asyncio.timeout(15):
            while True:
                got = await consumer.getmany(timeout_ms=300)
                for tp, records in got.items():
                    last[(tp.topic, tp.partition)] = records[-1].offset
                if not got and len(last) == len(nonempty):
                    return last
    finally:
        await consumer.stop()


NO_TABLES = (sa.exc.ProgrammingError, sa.exc.OperationalError)


class SchedulerDb:
    """Read-only looks at a scheduler's store: positions, plans, outbox, state."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    async def close(self) -> None:
        await self.engine.dispose()

    async def _scalar(self, query: Any) -> Any:
        try:
            async with self.engine.connect() as conn:
                return (await conn.execute(query)).scalar()
        except NO_TABLES:
            return None  # no tables yet: the service has not started

    async def progress(self) -> Hashable:
        """Changes whenever the scheduler applies a batch or relays outbox rows."""
        offsets = await self._scalar(sa.select(sa.func.sum(t.offsets.c.offset)))
        outbox = await self._scalar(sa.select(sa.func.max(t.outbox.c.seq)))
        backlog = await self._scalar(sa.select(sa.func.count()).select_from(t.outbox))
        return offsets, outbox, backlog

    async def applied(self) -> int:
        """Input messages applied so far (stored offset + 1, summed)."""
        value = await self._scalar(sa.select(sa.func.sum(t.offsets.c.offset + 1)))
        return int(value or 0)

    async def offsets(self) -> dict[tuple[str, int], int]:
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(sa.select(t.offsets))).all()
        except NO_TABLES:
            return {}
        return {(r.topic, r.partition): r.offset for r in rows}

    async def behind(self, bootstrap: str) -> dict[tuple[str, int], tuple[int, int]]:
        """Input partitions not fully applied: (stored offset, last offset on the broker)."""
        last = await last_offsets(bootstrap, SCHEDULER_INPUTS)
        stored = await self.offsets()
        return {tp: (stored.get(tp, -1), offset) for tp, offset in last.items()
                if stored.get(tp, -1) != offset}

    async def caught_up(self, bootstrap: str) -> bool:
        """Every input message on the broker is applied (stored offset = end - 1)."""
        try:
            return not await self.behind(bootstrap)
        except (KafkaError, OSError, TimeoutError):
            return False

    async def outbox_backlog(self) -> int:
        return int(await self._scalar(sa.select(sa.func.count()).select_from(t.outbox)) or 0)

    async def state(self) -> dict[str, list[tuple[Any, ...]]]:
        """The centre state tables, sorted, for comparing two stores."""
        tables = (t.centres, t.slots, t.bookings, t.outages, t.decisions, t.conflicts)
        async with self.engine.connect() as conn:
            return {table.name: sorted(tuple(r) for r in await conn.execute(sa.select(table)))
                    for table in tables}


async def reference_state(lines: Sequence[str], tmp: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The state the scheduler's own pipeline reaches on `lines` in one crash-free pass."""
    from services.scheduler.app import planning_config
    from services.scheduler.dryrun import records_of
    from services.scheduler.pipeline import Pipeline
    from services.scheduler.store.sql import SchedulerStore

    url = f"sqlite+aiosqlite:///{tmp / 'reference.db'}"
    store = await SchedulerStore.open(url)
    try:
        pipeline = Pipeline(store, planning_config(default_settings()))
        await pipeline.handle(list(records_of(lines)))
    finally:
        await store.close()
    db = SchedulerDb(url)
    try:
        return await db.state()
    finally:
        await db.close()


@dataclass
class Outcome:
    """What the run produced, compared with `reslot plan`; the figures a run prints."""

    lost: list[str] = field(default_factory=list)  # expected and never seen
    contradictions: list[str] = field(default_factory=list)  # two answers for one thing
    unexpected: list[str] = field(default_factory=list)  # seen and not expected
    copies: int = 0  # the same event (same id) on a topic more than once
    email_resends: int = 0  # same Message-ID received again (kill between accept and record)
    sms_repeats: int = 0  # same Idempotency-Key posted again, accepted once by the gateway
    outputs: int = 0  # distinct output events
    deadletters: int = 0


def _by_id(events: list[dict[str, Any]], outcome: Outcome, what: str,
           key: Callable[[dict[str, Any]], str] = lambda e: e["id"]) -> dict[str, Any]:
    seen: dict[str, dict[str, Any]] = {}
    for e in events:
        k = key(e)
        if k in seen:
            if comparable(seen[k]) != comparable(e):
                outcome.contradictions.append(f"{what} {k}")
            else:
                outcome.copies += 1
        seen[k] = e
    return seen


async def check_outputs(bootstrap: str, expected: Expected, smtp: SmtpSink | None = None,
                        sms: SmsSink | None = None) -> Outcome:
    """Compare the topics (and the sinks) with `reslot plan`'s answer, counting copies."""
    out = Outcome()
    reschedules = await read_all(bootstrap, Topic.RESCHEDULES)
    decisions = _by_id([e for e in reschedules if e["type"] in DECISIONS], out, "decision",
                       _decision_key)
    plans = _by_id([e for e in reschedules if e["type"] == PLAN_DONE], out, "plan")
    _by_id([e for e in reschedules if e["type"] not in (*DECISIONS, PLAN_DONE)], out, "event")
    notes = _by_id(await read_all(bootstrap, Topic.NOTIFICATIONS), out, "notification",
                   lambda e: e["data"]["notification_id"])
    out.outputs = len({e["id"] for e in reschedules}) + len(notes)
    out.deadletters = len(await read_all(bootstrap, Topic.DEADLETTER))
    for name, want, got in (("decision", expected.decisions, decisions),
                            ("plan", expected.plans, plans),
                            ("notification", expected.notifications, notes)):
        out.lost += [f"{name} {k}" for k in sorted(want.keys() - got.keys())]
        out.unexpected += [f"{name} {k}" for k in sorted(got.keys() - want.keys())]
        out.contradictions += [f"{name} {k} differs from reslot plan" for k in sorted(want)
                               if k in got and comparable(got[k]) != want[k]]
    optional_emails, optional_sms = expected.may_send
    if smtp is not None:
        by_id = smtp.by_message_id()
        out.lost += [f"e-mail {m}" for m in sorted(expected.emails - by_id.keys())]
        out.unexpected += [f"e-mail {m}" for m in
                           sorted(by_id.keys() - expected.emails - optional_emails)]
        out.email_resends = sum(len(copies) - 1 for copies in by_id.values())
        out.contradictions += [f"e-mail {m} resent with another text"
                               for m, copies in by_id.items()
                               if len({c.part("text/plain") for c in copies}) > 1]
    if sms is not None:
        keys = Counter(s.idempotency_key for s in sms.messages)
        out.lost += [f"sms {k}" for k in sorted(expected.sms - keys.keys())]
        out.unexpected += [f"sms {k}" for k in sorted(keys.keys() - expected.sms - optional_sms)]
        out.contradictions += [f"sms {k} accepted {n} times" for k, n in keys.items() if n > 1]
        out.sms_repeats = sms.duplicates
    return out


async def notifications_done(bootstrap: str, expected: Expected, smtp: SmtpSink,
                             sms: SmsSink, only: set[str] | None = None) -> bool:
    """Every e-mail and SMS sent and its outcome published (of the notification ids `only`);
    a superseded one need not be sent, but its outcome (sent, or failed: superseded) is."""
    notes = {n: e for n, e in expected.notifications.items() if only is None or n in only}
    emails = {n for n, e in notes.items() if e["data"]["recipient"].get("email")}
    texts = {n for n, e in notes.items() if e["data"]["recipient"].get("phone")}
    replaced = expected.superseded
    if not {message_id(n) for n in emails - replaced} <= smtp.by_message_id().keys():
        return False
    if not texts - replaced <= {s.idempotency_key for s in sms.messages}:
        return False
    status = await read_topic(bootstrap, Topic.NOTIFICATION_STATUS)
    reported = {(e["data"]["notification_id"], e["data"]["channel"]) for e in status}
    return {(n, "email") for n in emails} | {(n, "sms") for n in texts} <= reported


def personal_data_in(text: str, personal: Iterable[str]) -> list[str]:
    return sorted({p for p in personal if p in text})


# -- partition ownership from the logs ---------------------------------------------------------

_ASSIGNED = re.compile(r"Consumer (\S+) assigned to partitions: \((.*)\)")
_TP = re.compile(r"TopicPartition\(topic='([^']+)', partition=(\d+)\)")


def assignments(log_text: str) -> list[dict[str, set[int]]]:
    """Every assignment a consumer logged, in order: topic -> partitions."""
    out = []
    for match in _ASSIGNED.finditer(log_text):
        owned: dict[str, set[int]] = defaultdict(set)
        for topic, partition in _TP.findall(match.group(2)):
            owned[topic].add(int(partition))
        out.append(dict(owned))
    return out


def json_lines(log_text: str) -> list[dict[str, Any]]:
    out = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


# -- the killer --------------------------------------------------------------------------------


@dataclass
class Kill:
    service: str
    at_s: float  # since the run began
    busy: bool  # the service had done work since its start when it was killed


class Killer:
    """SIGKILLs `service` `quota` times, each at a seeded moment once it has done some work
    since its last start (or has been idle `idle_s`), and restarts it after a short pause.
    Kill number n waits for `gates[n]` first, if there is one (to spread kills over phases)."""

    def __init__(self, service: Service, progress: Callable[[], Awaitable[Hashable]],
                 rng: random.Random, quota: int, idle_s: float, jitter_s: tuple[float, float],
                 log: list[Kill], began: float,
                 gates: Sequence[asyncio.Event | None] = ()) -> None:
        self.service, self.progress, self.rng = service, progress, rng
        self.quota, self.idle_s, self.jitter_s = quota, idle_s, jitter_s
        self.log, self.began, self.gates = log, began, gates

    async def run(self) -> None:
        for n in range(self.quota):
            if n < len(self.gates) and (gate := self.gates[n]) is not None:
                await gate.wait()
            before = await self.progress()
            deadline = time.monotonic() + self.idle_s
            busy = False
            while time.monotonic() < deadline:
                if await self.progress() != before:
                    busy = True
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(self.rng.uniform(*self.jitter_s))
            assert self.service.alive, f"{self.service.name} died by itself:\n{self.service.tail()}"
            self.service.kill()
            self.log.append(Kill(self.service.name, time.monotonic() - self.began, busy))
            await asyncio.sleep(self.rng.uniform(0.05, 0.6))
            self.service.start()


def sink_progress(smtp: SmtpSink, sms: SmsSink) -> Callable[[], Awaitable[Hashable]]:
    async def progress() -> Hashable:
        return len(smtp.messages), len(sms.requests)

    return progress


async def until_assigned(*services: Service, timeout: float = 60.0) -> None:
    """Until each service's consumer has logged a non-empty partition assignment."""
    deadline = time.monotonic() + timeout
    while not all(any(assignments(s.current_log())) for s in services):
        for s in services:
            assert s.alive, f"{s.name} exited early:\n{s.tail()}"
        assert time.monotonic() < deadline, "no assignment in time:\n" + "\n".join(
            s.tail() for s in services)
        await asyncio.sleep(0.1)


def latest_assignment(service: Service) -> dict[str, set[int]]:
    found = assignments(service.current_log())
    return found[-1] if found else {}


def split_problems(owned: Sequence[dict[str, set[int]]], topics: Sequence[str],
                   partitions: int) -> list[str]:
    """What keeps these assignments from being one group's stable, co-partitioned split:
    each member the same partitions of every topic, no partition twice, none left out."""
    problems = []
    for n, member in enumerate(owned):
        if not member:
            problems.append(f"member {n} owns nothing")
        elif len({frozenset(member.get(topic, set())) for topic in topics}) != 1:
            problems.append(f"member {n} is not co-partitioned: {member}")
    for topic in topics:
        counts = Counter(p for member in owned for p in member.get(topic, set()))
        if sorted(counts) != list(range(partitions)) or any(c > 1 for c in counts.values()):
            problems.append(f"{topic}: partitions owned {dict(counts)}")
    return problems


async def until_split(services: Sequence[Service], topics: Sequence[str], partitions: int,
                      timeout: float = 60.0) -> list[dict[str, set[int]]]:
    """Until the services' latest assignments split every partition between them."""
    deadline = time.monotonic() + timeout
    while True:
        owned = [latest_assignment(s) for s in services]
        problems = split_problems(owned, topics, partitions)
        if not problems:
            return owned
        for s in services:
            assert s.alive, f"{s.name} exited early:\n{s.tail()}"
        assert time.monotonic() < deadline, f"no stable split in time: {problems}"
        await asyncio.sleep(0.1)
