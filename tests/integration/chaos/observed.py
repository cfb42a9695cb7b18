"""What the running system did: the topics, a scheduler's store, the sinks, compared with
what `reslot plan` says."""

import asyncio
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.topics import Topic
from services.notifier.channels.smtp import message_id
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.scheduler.store import tables as t
from services.scheduler.store.sql import make_engine
from tests.integration.chaos.expected import (
    DECISIONS,
    PLAN_DONE,
    SCHEDULER_INPUTS,
    Expected,
    comparable,
    decision_key,
    default_settings,
)
from tests.kafka_helpers import read_all


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
                       decision_key)
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
