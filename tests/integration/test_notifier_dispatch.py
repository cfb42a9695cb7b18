"""Claims, sends, retries, quiet hours and recovery against a real SMTP server (aiosmtpd), a
real HTTP gateway and a real store (SQLite, and PostgreSQL where marked), without Kafka."""

import datetime as dt
import uuid

import pytest

from services.common.clock import ShiftedClock
from services.notifier.domain.dedupe import OnClaim
from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.domain.status import status_event_id
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from tests.conftest import eventually
from tests.integration.notifier_rig import ALGIERS, DAYTIME, requested, rig

pytestmark = pytest.mark.integration


# -- exactly once ---------------------------------------------------------------------------


async def test_the_same_request_three_times_sends_once(
    store_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    async with rig(store_url, smtp=smtp, sms=sms) as r:
        first = await r.accept(requested(1))
        again = await r.accept(requested(1), requested(1))  # redelivered, twice in one batch
        await r.decided(2)
        third = await r.accept(requested(1))
        assert first == [OnClaim.SEND, OnClaim.SEND]
        assert set(again) <= {OnClaim.IN_PROGRESS, OnClaim.REPORT}
        assert third == [OnClaim.REPORT, OnClaim.REPORT]
        await eventually(
            lambda: _true(sum(e.data.channel == "email" for e in r.statuses) >= 2), timeout=5
        )
        assert len(smtp.messages) == 1
        assert len(sms.requests) == 1
        assert len(sms.messages) == 1
        email, text = r.outcome("n-1", "email"), r.outcome("n-1", "sms")
        assert (email.type, email.data.attempts) == ("visa.notification.delivered.v1", 1)
        assert (text.type, text.data.attempts) == ("visa.notification.delivered.v1", 1)
        # Re-published with the same id, so consumers downstream drop the copy.
        assert email.id == status_event_id(DeliveryKey("n-1", "email"), "delivered")
        assert [e.id for e in r.statuses].count(email.id) >= 2


async def _true(value: bool) -> bool:
    return value


async def test_email_is_multipart_with_a_message_id_from_the_notification(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    async with rig(sqlite_url, smtp=smtp, sms=sms) as r:
        await r.accept(requested(7, language="ar"))
        await r.decided(2)
    (mail,) = smtp.messages
    message = mail.message
    assert message["Message-ID"] == "<n-7@reslot>"
    assert message["Content-Language"] == "ar"
    assert mail.recipients == ("applicant7@example.dz",)
    assert message.get_content_type() == "multipart/alternative"
    assert 'dir="rtl"' in mail.part("text/html")
    assert "الخميس 4 ديسمبر 2025، الساعة 09:00" in mail.part("text/plain")
    assert str(message["Subject"]).startswith("تم تغيير موعدك")
    (text,) = sms.messages
    assert (text.to, text.id, text.idempotency_key) == ("+213555000007", "n-7", "n-7")
    assert text.authorization == "Bearer s3cret"
    assert text.text.startswith("تم تغيير موعدك في Capago Alger")


# -- retries --------------------------------------------------------------------------------


async def test_a_gateway_answering_503_twice_then_200_delivers_once_in_three_attempts(
    store_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    sms.script["+213555000002"] = [503, 503]
    async with rig(store_url, smtp=smtp, sms=sms) as r:
        await r.accept(requested(2))
        await r.decided(2)
        outcome = r.outcome("n-2", "sms")
    assert (outcome.type, outcome.data.attempts) == ("visa.notification.delivered.v1", 3)
    assert [s.idempotency_key for s in sms.requests] == ["n-2"] * 3
    assert len(sms.messages) == 1


async def test_a_gateway_answering_400_fails_at_once(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    sms.script["+213555000003"] = [400]
    async with rig(sqlite_url, smtp=smtp, sms=sms) as r:
        await r.accept(requested(3))
        await r.decided(2)
        outcome = r.outcome("n-3", "sms")
        assert r.outcome("n-3", "email").type == "visa.notification.delivered.v1"
    assert outcome.type == "visa.notification.failed.v1"
    assert (outcome.data.attempts, outcome.data.error) == (1, "http 400")
    assert len(sms.requests) == 1


async def test_a_refused_recipient_fails_at_once_and_a_busy_server_is_retried(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    smtp.refuse["applicant4@example.dz"] = "550 5.1.1 <applicant4@example.dz> no such user"
    smtp.data_replies["applicant5@example.dz"] = ["451 4.3.0 try again later"]
    async with rig(sqlite_url, smtp=smtp, sms=sms) as r:
        await r.accept(requested(4), requested(5))
        await r.decided(4)
        refused, busy = r.outcome("n-4", "email"), r.outcome("n-5", "email")
    assert refused.type == "visa.notification.failed.v1"
    assert refused.data.attempts == 1
    assert refused.data.error.startswith("smtp 550")
    assert "applicant4" not in refused.data.error  # no personal data in errors
    assert (busy.type, busy.data.attempts) == ("visa.notification.delivered.v1", 2)
    assert [m.message_id for m in smtp.messages] == ["<n-5@reslot>"]


async def test_an_unreachable_gateway_is_retried_up_to_the_limit(
    sqlite_url: str, smtp: SmtpSink
) -> None:
    closed = await SmsSink().start()
    url = closed.url
    await closed.stop()  # nothing listens there any more: connection refused
    async with rig(sqlite_url, smtp=smtp, sms_url=url) as r:
        await r.accept(requested(6))
        await r.decided(2)
        outcome = r.outcome("n-6", "sms")
    assert outcome.type == "visa.notification.failed.v1"
    assert outcome.data.attempts == 4  # send_max_attempts
    assert outcome.data.error == "sms ConnectError"


async def test_a_slow_retry_does_not_hold_up_other_notifications(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    sms.script["+213555000100"] = [503, 503, 503]
    async with rig(sqlite_url, smtp=smtp, sms=sms, send_backoff_base_s=0.3) as r:
        await r.accept(*(requested(n) for n in range(100, 120)))
        await r.decided(40)
    order = [e.data.notification_id for e in r.statuses if e.data.channel == "sms"]
    assert order[-1] == "n-100"  # the others went while it waited
    assert r.outcome("n-100", "sms").data.attempts == 4


# -- no contact, bad requests ---------------------------------------------------------------


async def test_no_contact_fails_on_both_channels_without_sending(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    async with rig(sqlite_url, smtp=smtp, sms=sms) as r:
        decisions = await r.accept(requested(8, email=None, phone=None))
        await r.decided(2)
        email, text = r.outcome("n-8", "email"), r.outcome("n-8", "sms")
    assert decisions == [OnClaim.REPORT, OnClaim.REPORT]
    for outcome in (email, text):
        assert outcome.type == "visa.notification.failed.v1"
        assert (outcome.data.attempts, outcome.data.error) == (0, "no_contact")
    assert smtp.messages == []
    assert sms.requests == []


async def test_one_channel_only_when_only_one_address_is_known(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    async with rig(sqlite_url, smtp=smtp, sms=sms) as r:
        await r.accept(requested(9, phone=None))
        await r.decided(1)
        rows = await r.store.all_rows()
    assert [(row.key.channel, row.state) for row in rows] == [("email", DeliveryState.DELIVERED)]
    assert sms.requests == []


async def test_a_request_missing_a_variable_fails_and_sends_nothing(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    bad = requested(10)
    bad = bad.model_copy(
        update={"variables": {k: v for k, v in bad.variables.items() if k != "new_start"}}
    )
    async with rig(sqlite_url, smtp=smtp, sms=sms) as r:
        await r.accept(bad)
        await r.decided(2)
        outcome = r.outcome("n-10", "email")
    assert outcome.type == "visa.notification.failed.v1"
    assert outcome.data.error == "invalid_request: missing variable(s): new_start"
    assert smtp.messages == []
    assert sms.requests == []


# -- quiet hours ----------------------------------------------------------------------------


async def test_sms_in_quiet_hours_waits_for_eight_while_email_goes_at_once(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    clock = ShiftedClock(dt.datetime(2025, 12, 1, 7, 59, 58, 500_000, tzinfo=ALGIERS))
    async with rig(sqlite_url, smtp=smtp, sms=sms, clock=clock) as r:
        await r.accept(requested(11))
        held = {row.key.channel: row for row in await r.store.all_rows()}
        assert held["sms"].not_before == dt.datetime(2025, 12, 1, 8, 0, tzinfo=ALGIERS)
        await r.decided(1)
        assert r.statuses[0].data.channel == "email"
        assert sms.requests == []
        await r.decided(2)
        sms_status = r.outcome("n-11", "sms")
    assert sms_status.time >= dt.datetime(2025, 12, 1, 8, 0, tzinfo=ALGIERS)
    assert len(sms.messages) == 1


async def test_evening_sms_is_kept_in_the_store_until_next_morning(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    clock = ShiftedClock(dt.datetime(2025, 12, 1, 22, 0, tzinfo=ALGIERS))
    async with rig(sqlite_url, smtp=smtp, sms=sms, clock=clock) as r:
        await r.accept(requested(12))
        await r.decided(1)
    async with rig(sqlite_url, smtp=smtp, sms=sms, clock=clock) as r:  # a restart keeps it
        rows = {row.key.channel: row for row in await r.store.all_rows()}
    assert rows["email"].state is DeliveryState.DELIVERED
    assert rows["sms"].state is DeliveryState.SENDING
    assert rows["sms"].not_before == dt.datetime(2025, 12, 2, 8, 0, tzinfo=ALGIERS)
    assert sms.requests == []


async def test_status_events_have_ids_derived_from_notification_channel_and_outcome() -> None:
    key = DeliveryKey("n-1", "sms")
    assert status_event_id(key, "delivered") == status_event_id(key, "delivered")
    assert status_event_id(key, "delivered") != status_event_id(key, "failed")
    assert status_event_id(key, "delivered") != status_event_id(
        DeliveryKey("n-1", "email"), "delivered"
    )
    assert uuid.UUID(status_event_id(key, "failed")).version == 5


async def test_personal_data_is_erased_from_the_store_once_decided(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    async with rig(sqlite_url, smtp=smtp, sms=sms) as r:
        await r.accept(requested(50))
        await r.decided(2)
        rows = await r.store.all_rows()
    assert all(row.request is None for row in rows)
    assert all(row.state is DeliveryState.DELIVERED for row in rows)


async def test_the_rate_limit_spaces_out_sends(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    # 10:00 in Algiers by the injected clock, whatever the hour: SMS are not held for the
    # quiet hours (the wall clock made this test fail from 21:00 to 08:00).
    clock = ShiftedClock(DAYTIME)
    async with rig(sqlite_url, smtp=smtp, sms=sms, sms_rate_per_s=20.0, clock=clock) as r:
        start = clock.monotonic()
        await r.accept(*(requested(n, email=None, language="en") for n in range(200, 230)))
        await r.decided(30)
        elapsed = clock.monotonic() - start
    assert elapsed >= 0.45  # a burst of 20, then 10 more at 20 per second
    assert len(sms.messages) == 30
