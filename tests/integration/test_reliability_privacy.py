"""Privacy: a full small scenario through the scheduler and the notifier (in this process,
logging configured as the services configure it at their most verbose, RESLOT_LOG_LEVEL=DEBUG),
published with the `reslot publish` command and planned with `reslot plan` (both at DEBUG),
including the paths where personal data is most likely to slip out: a booking that is
dead-lettered, a notification request that is dead-lettered, a recipient the SMTP server
refuses with the address in its reply, a database error on a statement that carries an
applicant. Not one log record (as captured, before any formatter) nor one line written to
stdout or stderr (this process's and the commands') holds an applicant's name, e-mail
address or phone number.
"""

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from schemas.topics import Topic
from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.common.logs import configure
from services.common.settings import KafkaSettings, Settings
from services.notifier.app import start_notifier
from services.notifier.options import NotifierOptions
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.scheduler.store import tables as t
from services.scheduler.store.sql import SchedulerStore
from tests.conftest import eventually, new_database
from tests.integration.chaos import (
    SchedulerDb,
    command,
    dry_run_waves,
    make_scenario,
    messages_of,
    notifications_done,
    personal_data_in,
)
from tests.integration.scheduler_harness import running_scheduler

pytestmark = pytest.mark.integration

LEAKY_NAME = "Yamina Bouchareb-Ait Ouali"  # only in the bad inputs below
LEAKY_EMAIL = "yamina.bouchareb@boite-perso.dz"
LEAKY_PHONE = "+213661234567"


@pytest.fixture
def service_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The services' logging set-up at DEBUG (what RESLOT_LOG_LEVEL=DEBUG gives), captured by
    caplog as well; the test process's set-up restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    touched = ("aiokafka", "faststream", "kafka", "aiosmtpd", "mail.log", "httpx",
               "uvicorn.error", "aiosqlite")
    levels = {name: logging.getLogger(name).level for name in touched}
    configure("DEBUG", "json")
    root.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        structlog.reset_defaults()


def _bad_inputs(centre: str) -> list[Outgoing]:
    applicant = {"name": LEAKY_NAME, "language": "fr", "email": LEAKY_EMAIL,
                 "phone": LEAKY_PHONE}
    booking = {"specversion": "1.0", "id": "leaky-booking", "source": "test",
               "type": "visa.booking.created.v1", "time": "2025-11-20T10:00:00+01:00",
               "subject": centre, "data": {
                   "booking_id": "leaky-1", "centre_id": centre, "service": "short_stay",
                   "slot_start": "2025-12-01T09:00:00+01:00", "category": "vip",
                   "applicant": applicant}}
    request = {"specversion": "1.0", "id": "leaky-request", "source": "reslot/scheduler",
               "type": "visa.notification.requested.v1", "time": "2025-11-25T10:00:00+01:00",
               "subject": centre, "data": {
                   "notification_id": "leaky-n1", "booking_id": "leaky-1",
                   "centre_id": centre, "template": "appointment_rescheduled",
                   "language": "de", "recipient": {"name": LEAKY_NAME, "email": LEAKY_EMAIL,
                                                   "phone": LEAKY_PHONE},
                   "variables": {}}}
    return [Outgoing(Topic.BOOKINGS, centre, json.dumps(booking).encode()),
            Outgoing(Topic.NOTIFICATIONS, centre, json.dumps(request).encode())]


async def test_no_personal_data_in_any_log(
    kafka: str, postgres_url: str, tmp_path: Path, service_logging: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    centre = "privacy-alger"
    scenario = make_scenario(23, [centre], days=4, booked_days=2, waves=1)
    personal = scenario.personal_data() | {LEAKY_NAME, LEAKY_EMAIL, LEAKY_PHONE,
                                           LEAKY_PHONE.lstrip("+")}
    calendars = tmp_path / "calendars.jsonl"
    calendars.write_text("\n".join(scenario.calendars) + "\n", encoding="utf-8")
    waves = await dry_run_waves(scenario)
    notes = waves.expected.notifications
    refused = next(e["data"]["recipient"]["email"] for e in notes.values()
                   if e["data"]["recipient"].get("email"))
    smtp = await SmtpSink(refuse={refused: f"550 5.1.1 <{refused}>: Recipient unknown"}).start()
    sms = await SmsSink().start()
    commands: list[str] = []
    async with new_database(postgres_url) as scheduler_db, \
            new_database(postgres_url) as notifier_db:
        settings = Settings(
            kafka=KafkaSettings(bootstrap_servers=kafka), database_url=scheduler_db,
            notifier_database_url=notifier_db, smtp_port=smtp.port, sms_url=sms.url,
            quiet_hours_start=0, quiet_hours_end=0, email_rate_per_s=500.0,
            sms_rate_per_s=500.0, send_backoff_base_s=0.05)
        await ensure_topics(settings)
        db = SchedulerDb(scheduler_db)
        notifier = await start_notifier(settings, options=NotifierOptions(
            instance_id="privacy", sweep_interval_s=0.2, session_timeout_ms=3000,
            heartbeat_interval_ms=500))
        try:
            async with running_scheduler(settings):
                published = await asyncio.to_thread(
                    command, "publish", str(calendars), KAFKA_BOOTSTRAP_SERVERS=kafka,
                    RESLOT_LOG_LEVEL="DEBUG")
                commands += [published.stdout, published.stderr]
                producer = make_producer(settings)
                await producer.start()
                await publish_all(producer, _bad_inputs(centre))
                await eventually(lambda: db.caught_up(kafka), timeout=60)
                await publish_all(producer, messages_of(scenario.waves[0]))
                await producer.stop()
                delivered = {n for n, e in notes.items()
                             if e["data"]["recipient"].get("email") != refused}
                await eventually(lambda: notifications_done(kafka, waves.expected, smtp, sms,
                                                            delivered), timeout=60)
                await eventually(lambda: _deadletters(kafka, 2), timeout=30)
        finally:
            await notifier.stop()
            await db.close()
            await smtp.stop()
            await sms.stop()
    planned = await asyncio.to_thread(command, "plan", str(scenario.write(tmp_path / "a.jsonl")),
                                      RESLOT_LOG_LEVEL="DEBUG")
    commands.append(planned.stderr)  # its stdout is output events, not logs
    async with new_database(postgres_url) as url:
        database_error = await _database_error(url)

    records = service_logging.records
    raw = "\n".join(repr(r.__dict__) for r in records)
    out, err = capfd.readouterr()
    written = "\n".join([out, err, *commands])
    for expected_line in ("plan committed", "notification delivered", "message dead-lettered",
                          "input dead-lettered", "notification failed", "outage routed",
                          "assigned to partitions"):
        assert expected_line in raw, f"no {expected_line!r} logged: the test proves nothing"
    leaking = sorted({r.name for r in records if personal_data_in(repr(r.__dict__), personal)})
    assert leaking == [], f"loggers with personal data: {leaking}"
    assert personal_data_in(raw, personal) == []
    assert personal_data_in(written, personal) == []
    assert "[SQL" in database_error
    assert personal_data_in(database_error, personal) == []
    print(f"\nprivacy: {len(records)} log records at DEBUG and {len(written)} characters "
          f"written to stdout/stderr by the services and the commands, searched for "
          f"{len(personal)} names, e-mail addresses and phone numbers: none found")


async def _database_error(url: str) -> str:
    """The text of a database error on a statement that carries an applicant (what the
    consumer logs when it retries a batch the store refused)."""
    store = await SchedulerStore.open(url)
    row = {"centre_id": "c", "booking_id": "b", "status": "active", "service": "short_stay",
           "category": "standard", "applicant": json.dumps({"name": LEAKY_NAME})}
    try:
        async with store.engine.begin() as conn:
            await conn.execute(sa.insert(t.bookings), [row, row])
    except sa.exc.SQLAlchemyError as exc:
        return str(exc)
    finally:
        await store.close()
    raise AssertionError("the duplicate row was accepted")


async def _deadletters(kafka: str, count: int) -> bool:
    from tests.kafka_helpers import read_all

    return len(await read_all(kafka, Topic.DEADLETTER)) >= count
