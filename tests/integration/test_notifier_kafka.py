"""The notifier end to end on the real local broker: requests in, e-mails and SMS out through
real SMTP and HTTP servers, status events and dead letters back on their topics."""

import base64
import datetime as dt
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import Topic
from services.common.clock import ShiftedClock
from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from services.notifier.app import start_notifier
from services.notifier.options import NotifierOptions
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from tests.builders import notification_variables
from tests.conftest import eventually
from tests.kafka_helpers import read_records

pytestmark = pytest.mark.integration

CENTRE = "capago-alger"


def request_event(n: int, language: str, **recipient: str | None) -> dict[str, Any]:
    contact: dict[str, str | None] = {
        "email": f"applicant{n}@example.dz",
        "phone": f"+21355500{n:04d}",
    }
    contact.update(recipient)
    return {
        "specversion": "1.0",
        "id": f"evt-{n}",
        "source": "reslot/scheduler",
        "type": "visa.notification.requested.v1",
        "time": "2025-12-01T09:00:00+01:00",
        "subject": CENTRE,
        "data": {
            "notification_id": f"n-{n}",
            "booking_id": f"BK-{n}",
            "centre_id": CENTRE,
            "template": "appointment_rescheduled",
            "language": language,
            "recipient": {"name": "Amel Benali", **contact},
            "variables": notification_variables(n),
        },
    }


def message(value: bytes, key: str = CENTRE,
            headers: tuple[tuple[str, bytes], ...] = ()) -> Outgoing:
    return Outgoing(Topic.NOTIFICATIONS, key, value, headers)


def encoded(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


BAD = {
    "invalid_json": b"{not json",
    "not_cloudevent": b'{"hello": "world"}',
    "unknown_type": encoded({**request_event(90, "fr"), "type": "visa.unknown.v1"}),
    "schema_invalid": encoded({**request_event(91, "fr"), "data": {"notification_id": "x"}}),
    "subject_mismatch": encoded({**request_event(92, "fr"), "subject": "another-centre"}),
}


async def read_with_keys(bootstrap: str, topic: str) -> list[tuple[str, int, int, str, Any]]:
    return [(topic, r.partition, r.offset, r.key.decode() if r.key else "",
             json.loads(r.value or b"null")) for r in await read_records(bootstrap, topic)]


@pytest.fixture
async def sinks() -> AsyncIterator[tuple[SmtpSink, SmsSink]]:
    smtp, sms = await SmtpSink().start(), await SmsSink().start()
    yield smtp, sms
    await smtp.stop()
    await sms.stop()


async def test_requests_are_delivered_once_with_status_events_and_dead_letters(
    kafka: str, tmp_path: Path, sinks: tuple[SmtpSink, SmsSink]
) -> None:
    smtp, sms = sinks
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=kafka),
        partitions=3,
        notifier_database_url=f"sqlite+aiosqlite:///{tmp_path}/notifier.db",
        smtp_port=smtp.port,
        sms_url=sms.url,
        send_backoff_base_s=0.05,
        send_backoff_max_s=0.2,
    )
    await ensure_topics(settings)
    sms.script["+213555000004"] = [503, 503]
    sms.script["+213555000005"] = [400]
    good = {1: "fr", 2: "ar", 3: "en", 4: "fr", 5: "en"}
    messages = [message(encoded(request_event(n, lang))) for n, lang in good.items()]
    messages.append(message(encoded(request_event(6, "ar", email=None, phone=None))))
    messages.append(message(encoded(request_event(7, "en")), headers=(("x-junk", b"\xff\xfe"),)))
    letters = [message(raw, key=kind) for kind, raw in BAD.items()]
    producer = make_producer(settings)
    await producer.start()
    try:
        # Every request three times (a redelivering upstream); the bad ones once.
        await publish_all(producer, messages + letters + messages + messages)
        running = await start_notifier(
            settings,
            options=NotifierOptions(
                instance_id="kafka-test", session_timeout_ms=6000, heartbeat_interval_ms=1000
            ),
            clock=ShiftedClock(dt.datetime(2025, 12, 1, 10, 0, tzinfo=ZoneInfo("Africa/Algiers"))),
        )
        try:

            async def all_reported() -> bool:
                statuses = await read_with_keys(kafka, Topic.NOTIFICATION_STATUS)
                keys = {
                    (s[4]["data"]["notification_id"], s[4]["data"]["channel"]) for s in statuses
                }
                return len(keys) == 14  # 7 notifications x 2 channels

            await eventually(all_reported, timeout=30)
        finally:
            await running.stop()
    finally:
        await producer.stop()

    # Each message once, in the applicant's language and the centre's time zone.
    by_id = smtp.by_message_id()
    assert sorted(by_id) == [f"<n-{n}@reslot>" for n in (1, 2, 3, 4, 5, 7)]
    assert all(len(copies) == 1 for copies in by_id.values())
    fr, ar, en = by_id["<n-1@reslot>"][0], by_id["<n-2@reslot>"][0], by_id["<n-3@reslot>"][0]
    assert "mercredi 3 décembre 2025 à 16 h 30" in fr.part("text/plain")
    assert '<html lang="ar" dir="rtl">' in ar.part("text/html")
    assert "الأربعاء 3 ديسمبر 2025، الساعة 16:30" in ar.part("text/plain")
    assert "Wednesday 3 December 2025 at 16:30" in en.part("text/plain")
    assert sorted(s.id for s in sms.messages) == ["n-1", "n-2", "n-3", "n-4", "n-7"]
    assert [s.id for s in sms.requests].count("n-4") == 3  # 503, 503, 200
    assert [s.id for s in sms.requests].count("n-5") == 1  # 400: no retry

    # One outcome per notification and channel; copies share the event id; key = centre id.
    statuses = await read_with_keys(kafka, Topic.NOTIFICATION_STATUS)
    outcomes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _, _, _, key, event in statuses:
        assert key == CENTRE
        assert event["subject"] == CENTRE
        outcomes[(event["data"]["notification_id"], event["data"]["channel"])].add(
            json.dumps([event["id"], event["type"], event["data"]], sort_keys=True)
        )
    assert all(len(versions) == 1 for versions in outcomes.values()), outcomes
    final = {k: json.loads(next(iter(v))) for k, v in outcomes.items()}
    assert final[("n-4", "sms")][1:] == [
        "visa.notification.delivered.v1",
        {"notification_id": "n-4", "channel": "sms", "attempts": 3},
    ]
    assert final[("n-5", "sms")][1:] == [
        "visa.notification.failed.v1",
        {"notification_id": "n-5", "channel": "sms", "attempts": 1, "error": "http 400"},
    ]
    for channel in ("email", "sms"):
        assert final[("n-6", channel)][2] == {
            "notification_id": "n-6",
            "channel": channel,
            "attempts": 0,
            "error": "no_contact",
        }

    # Every bad message dead-lettered once, whole, with where it was read and why.
    dead = await read_with_keys(kafka, Topic.DEADLETTER)
    assert sorted(d[4]["data"]["error_class"] for d in dead) == sorted(BAD)
    for _, _, _, key, event in dead:
        data = event["data"]
        kind = data["error_class"]
        assert event["type"] == "visa.deadletter.v1"
        assert base64.b64decode(data["value"]) == BAD[kind]
        assert base64.b64decode(data["key"]).decode() == kind
        assert key == kind  # dead letters keep the original key
        assert data["topic"] == Topic.NOTIFICATIONS
        assert data["service"] == "notifier"
        assert data["error"]
        raw = await read_raw(kafka, data["partition"], data["offset"])
        assert raw == BAD[kind]


async def read_raw(bootstrap: str, partition: int, offset: int) -> bytes:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(Topic.NOTIFICATIONS, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        record = await consumer.getone()
        assert record.offset == offset
        return bytes(record.value)
    finally:
        await consumer.stop()
