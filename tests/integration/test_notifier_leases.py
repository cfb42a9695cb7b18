"""Crashes and leases against a real SMTP server (aiosmtpd), a real HTTP gateway and a real
store (SQLite, and PostgreSQL where marked), without Kafka: claims a crash left behind are
sent again with the same ids, an instance that lost its lease records nothing, another takes
over once the lease runs out, and a live lease is renewed, not taken."""

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest
from sqlalchemy.exc import OperationalError

from services.common.clock import ShiftedClock
from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.notifier.store import Decision, Deferral, DeliveryRow, DeliveryStore, NewDelivery
from tests.integration.notifier_rig import DAYTIME, requested, rig

pytestmark = pytest.mark.integration


def claimed_row(n: int, channel: str, at: dt.datetime) -> NewDelivery:
    request = requested(n)
    return NewDelivery(
        key=DeliveryKey(request.notification_id, channel),  # type: ignore[arg-type]
        booking_id=request.booking_id,
        centre_id=request.centre_id,
        request=request.model_dump_json(),
        state=DeliveryState.SENDING,
        not_before=at,
    )


async def test_claims_left_by_a_crash_are_sent_on_restart_with_the_same_ids(
    store_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    now = DAYTIME.astimezone(dt.UTC)
    crashed = await DeliveryStore.connect(store_url)
    # A run claimed these, counted one attempt on n-21's SMS, then died.
    await crashed.claim(
        [claimed_row(20, "email", now), claimed_row(20, "sms", now), claimed_row(21, "sms", now)],
        owner="test-instance",
        now=now,
        lease_s=3600,
    )
    assert await crashed.begin_attempt(DeliveryKey("n-21", "sms"), "test-instance", now) == 1
    await crashed.close()
    async with rig(store_url, smtp=smtp, sms=sms, owner="test-instance") as r:  # same instance id
        await r.decided(3)
        assert r.outcome("n-21", "sms").data.attempts == 2
    assert [m.message_id for m in smtp.messages] == ["<n-20@reslot>"]
    assert sorted(s.idempotency_key for s in sms.messages) == ["n-20", "n-21"]


async def test_after_a_crash_the_least_tried_messages_go_first(
    sqlite_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    """n-30's sends were cut short twice (a crash loop, or a message that crashes us): on
    restart it goes behind the others, not first again."""
    now = DAYTIME.astimezone(dt.UTC)
    crashed = await DeliveryStore.connect(sqlite_url)
    await crashed.claim([claimed_row(n, "email", now) for n in (30, 31, 32)],
                        owner="test-instance", now=now, lease_s=3600)
    for _ in range(2):
        await crashed.begin_attempt(DeliveryKey("n-30", "email"), "test-instance", now)
    await crashed.close()
    async with rig(sqlite_url, smtp=smtp, sms=sms, max_in_flight=1) as r:  # one at a time
        await r.decided(3)
        assert r.outcome("n-30", "email").data.attempts == 3
    assert [m.message_id for m in smtp.messages] == ["<n-31@reslot>", "<n-32@reslot>",
                                                     "<n-30@reslot>"]


class OutcomesLost(DeliveryStore):
    """A store that takes claims and counts attempts, but whose every write of an outcome
    fails: as if the process were killed between the sends and their record."""

    async def record(
        self,
        decisions: Sequence[Decision],
        deferrals: Sequence[Deferral],
        owner: str,
        now: dt.datetime,
    ) -> list[DeliveryRow]:
        if decisions:
            raise OperationalError("UPDATE notifier_deliveries", {}, OSError("killed"))
        return await super().record(decisions, deferrals, owner, now)


async def test_a_kill_between_the_sends_and_their_record_resends_them_with_the_same_ids(
    store_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    async with rig(store_url, smtp=smtp, sms=sms, store_type=OutcomesLost) as r:
        await r.accept(requested(60), requested(61, language="ar"))
        async with asyncio.timeout(10):
            await smtp.wait_for_unique(2)
            await sms.wait_for(2)
        rows = await r.store.all_rows()
        assert [(row.state, row.attempts) for row in rows] == [(DeliveryState.SENDING, 1)] * 4
        assert r.statuses == []  # nothing decided, so nothing reported
    async with rig(store_url, smtp=smtp, sms=sms) as r:  # the restart, same instance id
        await r.decided(4)
        outcomes = [r.outcome(f"n-{n}", c) for n in (60, 61) for c in ("email", "sms")]
        rows = await r.store.all_rows()
        backlog = await r.store.outbox_backlog()
    assert all(o.type == "visa.notification.delivered.v1" for o in outcomes)
    assert [o.data.attempts for o in outcomes] == [2, 2, 2, 2]  # the lost attempt counted
    by_id = smtp.by_message_id()
    assert sorted(by_id) == ["<n-60@reslot>", "<n-61@reslot>"]
    for copies in by_id.values():  # sent twice, the same message: the receiver drops one
        assert len(copies) == 2
        assert len({c.part("text/plain") for c in copies}) == 1
    assert sorted(m.idempotency_key for m in sms.messages) == ["n-60", "n-61"]
    assert sms.duplicates == 2  # the gateway recognised the keys
    assert all(row.state is DeliveryState.DELIVERED for row in rows)
    assert backlog == 0  # every status event published, then deleted


async def test_an_outcome_is_not_recorded_by_an_instance_that_lost_the_row(sqlite_url: str) -> None:
    store = await DeliveryStore.connect(sqlite_url)
    now = DAYTIME
    await store.claim([claimed_row(70, "sms", now)], owner="a", now=now, lease_s=1)
    key = DeliveryKey("n-70", "sms")
    assert (await store.begin_attempts([key], "a", now)).attempts == {key: 1}
    later = now + dt.timedelta(seconds=2)
    assert await store.take_due("b", later, 30) == [key]  # a's lease ran out: b took it
    decided = await store.record([Decision(key, DeliveryState.DELIVERED)], [], "a", later)
    (row,) = await store.all_rows()
    await store.close()
    assert decided == []
    assert (row.state, row.owner, row.attempts) == (DeliveryState.SENDING, "b", 1)


async def test_another_instance_takes_over_once_the_lease_runs_out(
    store_url: str, smtp: SmtpSink, sms: SmsSink
) -> None:
    clock = ShiftedClock(DAYTIME)
    now = clock.now()
    dead = await DeliveryStore.connect(store_url)
    await dead.claim([claimed_row(30, "email", now)], owner="dead-one", now=now, lease_s=1.0)
    await dead.close()
    async with rig(store_url, smtp=smtp, sms=sms, clock=clock, owner="other") as r:
        assert smtp.messages == []  # the lease still holds
        await r.decided(1)
        taken_after = clock.now()
    assert taken_after >= now + dt.timedelta(seconds=1)
    assert [m.message_id for m in smtp.messages] == ["<n-30@reslot>"]


async def test_a_live_lease_is_not_taken(sqlite_url: str) -> None:
    store = await DeliveryStore.connect(sqlite_url)
    now = DAYTIME
    await store.claim([claimed_row(40, "email", now)], owner="a", now=now, lease_s=30)
    assert await store.take_due("b", now, 30) == []
    assert await store.take_due("a", now, 30) == [DeliveryKey("n-40", "email")]
    later = now + dt.timedelta(seconds=31)
    assert await store.take_due("b", later, 30) == [DeliveryKey("n-40", "email")]
    assert await store.begin_attempt(DeliveryKey("n-40", "email"), "a", later) is None
    await store.close()


async def test_a_lease_is_renewed_once_a_quarter_of_it_has_run(sqlite_url: str) -> None:
    store = await DeliveryStore.connect(sqlite_url)
    now = DAYTIME
    key = DeliveryKey("n-41", "email")
    await store.claim([claimed_row(41, "email", now)], owner="a", now=now, lease_s=30)
    assert await store.take_due("a", now + dt.timedelta(seconds=5), 30) == [key]
    await store.renew("a", now + dt.timedelta(seconds=5), 30)
    unchanged = await store.get(key)
    await store.renew("a", now + dt.timedelta(seconds=8), 30)
    renewed = await store.get(key)
    await store.close()
    assert unchanged is not None
    assert renewed is not None
    # taking its own rows and renewing them early leave the lease as it was ...
    assert unchanged.lease_until == now + dt.timedelta(seconds=30)
    # ... and once more than a quarter has run, it is renewed whole
    assert renewed.lease_until == now + dt.timedelta(seconds=38)
