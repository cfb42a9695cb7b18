"""Kill the notifier (SIGKILL) in the middle of a batch, restart it on the same store and
broker: every applicant still gets each message once, in the right language and direction.

E-mail has no idempotency on the wire: a message whose SMTP transaction completed just before
the kill, but whose outcome was not yet recorded, is sent again after the restart with the
same Message-ID, which receivers use to drop the copy. The SMS gateway dedupes by the
Idempotency-Key, so each SMS is accepted once.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import Topic
from services.common.kafka import Outgoing, ensure_topics, make_producer, publish_all
from services.common.settings import KafkaSettings, Settings
from services.notifier.domain.model import DeliveryState
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.notifier.store import DeliveryStore
from tests.builders import notification_variables
from tests.conftest import eventually
from tests.kafka_helpers import read_all

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("fr", "ar", "en")
MAX_IN_FLIGHT = 16


def request_event(n: int) -> dict[str, Any]:
    language = LANGUAGES[n % 3]
    return {
        "specversion": "1.0",
        "id": f"evt-{n}",
        "source": "reslot/scheduler",
        "type": "visa.notification.requested.v1",
        "time": "2025-12-01T09:00:00+01:00",
        "subject": f"centre-{n % 4}",
        "data": {
            "notification_id": f"n-{n:03d}",
            "booking_id": f"BK-{n}",
            "centre_id": f"centre-{n % 4}",
            "template": "appointment_unplaced" if n % 5 == 0 else "appointment_rescheduled",
            "language": language,
            "recipient": {
                "name": "Amel Benali",
                "email": f"applicant{n}@example.dz",
                "phone": f"+21355500{n:04d}",
            },
            "variables": notification_variables(n),
        },
    }


def outgoing(numbers: range | list[int]) -> list[Outgoing]:
    return [
        Outgoing(
            Topic.NOTIFICATIONS,
            f"centre-{n % 4}",
            json.dumps(request_event(n), ensure_ascii=False).encode(),
        )
        for n in numbers
    ]


class NotifierProcess:
    """`python -m services.notifier` as a child process, configured by environment only."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env, self._log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.notifier"],
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 20.0) -> int:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout)

    def stop_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


async def test_a_killed_notifier_restarted_on_the_same_store_sends_each_message_once(
    kafka: str, store_url: str, tmp_path: Path
) -> None:
    smtp = await SmtpSink(delay_s=0.02).start()
    sms = await SmsSink(delay_s=0.02).start()
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=kafka), partitions=3)
    await ensure_topics(settings)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "RESLOT_PARTITIONS": "3",
        "RESLOT_NOTIFIER_DATABASE_URL": store_url,
        "RESLOT_SMTP_PORT": str(smtp.port),
        "RESLOT_SMS_URL": sms.url,
        "RESLOT_QUIET_HOURS_START": "0",  # equal start and end: no quiet hours in this test
        "RESLOT_QUIET_HOURS_END": "0",
        "RESLOT_EMAIL_RATE_PER_S": "40",
        "RESLOT_SMS_RATE_PER_S": "40",
        "RESLOT_SEND_BACKOFF_BASE_S": "0.05",
        "RESLOT_GRACEFUL_TIMEOUT_S": "5",
        "RESLOT_LOG_FORMAT": "console",
        "RESLOT_NOTIFIER_INSTANCE_ID": "crash-test",
        "RESLOT_NOTIFIER_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        "RESLOT_NOTIFIER_SWEEP_INTERVAL_S": "0.2",
        "RESLOT_NOTIFIER_SESSION_TIMEOUT_MS": "3000",
        "RESLOT_NOTIFIER_HEARTBEAT_INTERVAL_MS": "500",
    }
    log = tmp_path / "notifier.log"
    notifier = NotifierProcess(env, log)
    producer = make_producer(settings)
    await producer.start()
    try:
        # Batch A, every request twice; the notifier dies while sending it.
        await publish_all(producer, outgoing(range(40)) * 2)
        notifier.start()
        async with asyncio.timeout(30):
            await smtp.wait_for_unique(10)
        notifier.kill()
        sent_before_kill = len(smtp.by_message_id())
        assert sent_before_kill < 40, "the batch was over before the kill: nothing was tested"

        # While it is down: batch B, and some of batch A again.
        await publish_all(producer, outgoing(range(40, 60)) + outgoing(range(0, 40, 4)))
        notifier.start()

        async def all_reported() -> bool:
            events = await read_all(kafka, Topic.NOTIFICATION_STATUS)
            return (
                len({(e["data"]["notification_id"], e["data"]["channel"]) for e in events}) >= 120
            )

        await eventually(all_reported, timeout=45)
        assert notifier.terminate() == 0  # a clean stop after the restart
    except BaseException:
        print(log.read_text(errors="replace")[-5000:])
        raise
    finally:
        notifier.stop_if_running()
        await producer.stop()
        await smtp.stop()
        await sms.stop()

    expected = [f"n-{n:03d}" for n in range(60)]
    # E-mail: every Message-ID, and only copies of the very same message beside it.
    by_id = smtp.by_message_id()
    assert sorted(by_id) == [f"<{n}@reslot>" for n in expected]
    resent = [mid for mid, copies in by_id.items() if len(copies) > 1]
    assert len(resent) <= MAX_IN_FLIGHT  # at most the sends in flight at the kill
    for copies in by_id.values():
        assert len({c.part("text/plain") for c in copies}) == 1
    for n in range(60):
        (mail, *_) = by_id[f"<n-{n:03d}@reslot>"]
        language = LANGUAGES[n % 3]
        assert mail.message["Content-Language"] == language
        assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in (
            mail.part("text/html")
        )
        assert ("16 h 30", "16:30", "16:30")[n % 3] in mail.part("text/plain")
    # SMS: the gateway accepted each once; retries after the kill carried the same key.
    assert sorted(s.idempotency_key for s in sms.messages) == expected
    assert all(s.id == s.idempotency_key for s in sms.messages)

    # One outcome per notification and channel, all delivered; copies share their id.
    events = await read_all(kafka, Topic.NOTIFICATION_STATUS)
    versions: dict[tuple[str, str], set[str]] = {}
    for e in events:
        key = (e["data"]["notification_id"], e["data"]["channel"])
        versions.setdefault(key, set()).add(e["id"] + e["type"])
    assert sorted(versions) == sorted((n, c) for n in expected for c in ("email", "sms"))
    assert all(len(v) == 1 for v in versions.values())
    assert all(e["type"] == "visa.notification.delivered.v1" for e in events)

    store = await DeliveryStore.connect(store_url)
    rows = await store.all_rows()
    backlog = await store.outbox_backlog()
    await store.close()
    assert len(rows) == 120
    assert all(r.state is DeliveryState.DELIVERED for r in rows)
    assert backlog == 0  # every status event published from the outbox, then deleted
    print(
        f"sent before kill: {sent_before_kill}; e-mails re-sent after restart: {len(resent)}; "
        f"SMS keys repeated to the gateway: {sms.duplicates}"
    )
