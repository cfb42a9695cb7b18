"""The ready queue: deliveries attempted in the order they became ready, within the places
(max_in_flight) and each channel's tokens; a channel out of tokens does not hold up the
other."""

import datetime as dt

from schemas.data import NotificationRequested, Recipient
from services.notifier.dispatcher.jobs import Job, Prepared
from services.notifier.dispatcher.ready import ReadyQueue
from services.notifier.domain.model import Channel, DeliveryKey, DeliveryState
from services.notifier.metrics import NotifierMetrics
from services.notifier.ratelimit import TokenBucket
from services.notifier.store import DeliveryRow
from tests.builders import notification_variables
from tests.unit.test_notifier_ratelimit import VirtualClock

NOW = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)
REQUEST = NotificationRequested(
    notification_id="n-0", booking_id="BK-0", centre_id="capago-alger",
    template="appointment_rescheduled", language="fr",
    recipient=Recipient(name="Amel Benali", email="a@example.dz", phone="+213555000111"),
    variables=notification_variables(0),
)


def job(n: int, channel: Channel) -> Job:
    row = DeliveryRow(DeliveryKey(f"n-{n}", channel), DeliveryState.SENDING, "BK-0",
                      "capago-alger", None, 0, False, None, NOW, "me", None, None)
    return Job(row, Prepared(REQUEST))


def queue(places: int = 10, email_burst: float = 10, sms_burst: float = 10
          ) -> tuple[ReadyQueue, VirtualClock]:
    clock = VirtualClock()
    limits: dict[Channel, TokenBucket] = {
        "email": TokenBucket(1.0, clock, burst=email_burst),
        "sms": TokenBucket(1.0, clock, burst=sms_burst),
    }
    return ReadyQueue(limits, places, NotifierMetrics()), clock


def ready(q: ReadyQueue, *jobs: Job) -> None:
    for j in jobs:
        assert q.add(j)
        q.push(j)


def keys(jobs: list[Job]) -> list[str]:
    return [str(j.key) for j in jobs]


def test_deliveries_are_taken_in_the_order_they_became_ready() -> None:
    q, _ = queue()
    ready(q, job(1, "sms"), job(1, "email"), job(2, "email"), job(2, "sms"))
    assert keys(q.take()) == ["n-1/sms", "n-1/email", "n-2/email", "n-2/sms"]


def test_a_channel_out_of_tokens_does_not_hold_up_the_other() -> None:
    q, clock = queue(sms_burst=1)
    ready(q, job(1, "sms"), job(2, "sms"), job(3, "email"))
    assert keys(q.take()) == ["n-1/sms", "n-3/email"]
    assert q.take() == []
    clock.t += 1.0  # the next SMS token
    assert keys(q.take()) == ["n-2/sms"]


def test_no_more_are_taken_than_there_are_places() -> None:
    q, _ = queue(places=4)
    a, b, c, d, e = (job(1, "email"), job(2, "sms"), job(3, "email"), job(4, "sms"),
                     job(5, "email"))
    ready(q, a, b, c, d, e)
    assert keys(q.take()) == ["n-1/email", "n-2/sms", "n-3/email", "n-4/sms"]
    assert q.take() == []
    q.release(a)  # its outcome is recorded: its place is free
    assert keys(q.take()) == ["n-5/email"]


def test_a_channel_holds_at_most_its_share_of_the_places() -> None:
    """A hung provider holds its places until their timeouts: a backlog of SMS to a silent
    gateway took every place, and e-mails waited minutes behind it."""
    q, _ = queue(places=4)
    sms = [job(n, "sms") for n in range(1, 6)]
    ready(q, *sms)
    assert keys(q.take()) == ["n-1/sms", "n-2/sms"]  # half the places, the rest kept
    ready(q, job(9, "email"))  # comes later, behind three SMS still ready
    assert keys(q.take()) == ["n-9/email"]
    q.release(sms[0])
    assert keys(q.take()) == ["n-3/sms"]


def test_jobs_put_back_are_first_in_line_again() -> None:
    q, _ = queue(places=2)
    ready(q, job(1, "email"), job(2, "sms"), job(3, "email"))
    taken = q.take()
    q.put_back(taken)  # their attempts could not be counted
    assert keys(q.take()) == ["n-1/email", "n-2/sms"]


def test_a_delivery_is_in_hand_once_until_forgotten() -> None:
    q, _ = queue()
    first = job(1, "sms")
    assert q.add(first)
    assert not q.add(job(1, "sms"))
    assert DeliveryKey("n-1", "sms") in q
    q.forget(first)
    assert DeliveryKey("n-1", "sms") not in q
    assert len(q) == 0
