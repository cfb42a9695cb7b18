"""Superseded messages (CONTRACT v1.1) on the real broker and store: an SMS held for the
quiet hours then replaced is never sent; a replaced request arriving after its replacement
is not sent either; every other message still goes exactly once. And the rule at the store's
edge: a delivery with an attempt on the wire is left to that attempt."""

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from schemas.data import NotificationRequested
from schemas.topics import Topic
from services.common.clock import ShiftedClock
from services.common.kafka import Outgoing, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from services.notifier.app import start_notifier
from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.domain.supersede import Supersession
from services.notifier.options import NotifierOptions
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.notifier.store import Decision, DeliveryStore, NewDelivery
from tests.conftest import eventually
from tests.integration.notifier_rig import ALGIERS, DAYTIME, requested
from tests.kafka_helpers import read_all

pytestmark = pytest.mark.integration

EVENING = dt.datetime(2025, 12, 1, 22, 0, tzinfo=ALGIERS)  # SMS held until 08:00


def outgoing(request: NotificationRequested) -> Outgoing:
    event = {
        "specversion": "1.0", "id": f"evt-{request.notification_id}",
        "source": "reslot/scheduler", "type": "visa.notification.requested.v1",
        "time": "2025-12-01T21:00:00+01:00", "subject": request.centre_id,
        "data": request.model_dump(mode="json"),
    }
    return Outgoing(Topic.NOTIFICATIONS, request.centre_id, json.dumps(event).encode())


async def statuses(kafka: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in await read_all(kafka, Topic.NOTIFICATION_STATUS):
        found[(event["data"]["notification_id"], event["data"]["channel"])].append(event)
    return found


async def test_an_sms_held_for_the_night_then_superseded_is_never_sent(
    kafka: str, tmp_path: Path, smtp: SmtpSink, sms: SmsSink
) -> None:
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=kafka), partitions=2, smtp_port=smtp.port,
        sms_url=sms.url, sms_token="s3cret",
        notifier_database_url=f"sqlite+aiosqlite:///{tmp_path}/notifier.db",
    )
    clock = ShiftedClock(EVENING)  # the injected clock: 22:00 in Algiers, whatever the hour
    producer = make_producer(settings)
    await producer.start()
    notifier = await start_notifier(settings, clock=clock, options=NotifierOptions(
        instance_id="supersede-test", sweep_interval_s=0.2, session_timeout_ms=6000,
        heartbeat_interval_ms=1000))
    try:
        # 22:00: booking 1 moved; the e-mail goes, the SMS waits for the morning.
        await publish_all(producer, [outgoing(requested(1))])

        async def first_mail() -> bool:
            return ("n-1", "email") in await statuses(kafka)

        await eventually(first_mail, timeout=30)
        held = await notifier.store.get(DeliveryKey("n-1", "sms"))
        assert held is not None
        assert (held.state, held.attempts) == (DeliveryState.SENDING, 0)
        # Booking 1 moved again before morning; booking 3's replacement arrives before the
        # request it replaces (another partition, or a replay).
        await publish_all(producer, [
            outgoing(requested(2, booking=1, supersedes=(1,))),
            outgoing(requested(4, booking=3, supersedes=(3,))),
            outgoing(requested(3)),
        ])

        async def night_decided() -> bool:
            return {("n-1", "sms"), ("n-2", "email"), ("n-3", "email"), ("n-3", "sms"),
                    ("n-4", "email")} <= set(await statuses(kafka))

        await eventually(night_decided, timeout=30)
        assert sms.requests == []  # nothing sent in the night
        clock.advance(dt.timedelta(hours=10, minutes=1))  # 08:01: the held SMS are due

        async def morning_decided() -> bool:
            return len(await statuses(kafka)) == 8  # 4 notifications x 2 channels

        await eventually(morning_decided, timeout=30)
    finally:
        await notifier.stop()
        await producer.stop()

    found = await statuses(kafka)
    outcome = {key: (events[0]["type"], events[0]["data"].get("error")) for key, events in
               found.items()}
    delivered, superseded = ("visa.notification.delivered.v1", None), (
        "visa.notification.failed.v1", "superseded")
    assert outcome == {
        ("n-1", "email"): delivered,  # sent at 22:00, before anything replaced it
        ("n-1", "sms"): superseded,  # held for the night, then replaced: never sent
        ("n-2", "email"): delivered,
        ("n-2", "sms"): delivered,  # at 08:00
        ("n-3", "email"): superseded,  # arrived after its replacement: never sent
        ("n-3", "sms"): superseded,
        ("n-4", "email"): delivered,
        ("n-4", "sms"): delivered,
    }
    assert all(len({e["id"] for e in events}) == 1 for events in found.values())
    assert {e["data"]["attempts"] for e in found[("n-1", "sms")]} == {0}
    assert sorted(s.idempotency_key for s in sms.requests) == ["n-2", "n-4"]
    assert sorted(smtp.by_message_id()) == ["<n-1@reslot>", "<n-2@reslot>", "<n-4@reslot>"]
    assert all(len(copies) == 1 for copies in smtp.by_message_id().values())


def row(n: int, channel: str, booking: int | None = None) -> NewDelivery:
    request = requested(n, booking=booking)
    return NewDelivery(key=DeliveryKey(request.notification_id, channel),  # type: ignore[arg-type]
                       booking_id=request.booking_id, centre_id=request.centre_id,
                       request=request.model_dump_json(), state=DeliveryState.SENDING,
                       not_before=DAYTIME)


async def test_a_delivery_on_the_wire_is_left_to_its_attempt_and_stopped_before_the_next(
    store_url: str,
) -> None:
    store = await DeliveryStore.connect(store_url)
    try:
        now = DAYTIME
        await store.claim([row(1, "sms"), row(1, "email")], "a", now, 30)
        email, text = DeliveryKey("n-1", "email"), DeliveryKey("n-1", "sms")
        assert (await store.begin_attempts([email, text], "a", now)).attempts == {email: 1,
                                                                                text: 1}
        replaced = Supersession("BK-1", "n-2", ("n-1",))
        await store.claim([row(2, "sms", booking=1)], "a", now, 30, [replaced])
        on_the_wire = await store.rows([email, text])
        assert {k: r.state for k, r in on_the_wire.items()} == {
            email: DeliveryState.SENDING, text: DeliveryState.SENDING}
        # The e-mail's attempt went through: it was sent, and says so.
        assert [r.state for r in await store.record(
            [Decision(email, DeliveryState.DELIVERED)], [], "a", now)] == [
            DeliveryState.DELIVERED]
        # The SMS's attempt failed and came due again: no further attempt is made.
        counted = await store.begin_attempts([text], "a", now + dt.timedelta(seconds=5))
        assert counted.attempts == {}
        assert [(r.key, r.state, r.attempts) for r in counted.superseded] == [
            (text, DeliveryState.SUPERSEDED, 1)]
        assert await store.outbox_backlog() == 2  # delivered (e-mail), superseded (SMS)
    finally:
        await store.close()
