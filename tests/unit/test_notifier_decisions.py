"""Pure decisions of the notifier: dedupe on claim, next step of a delivery, status ids."""

import datetime as dt

import pytest

from schemas.data import Recipient
from services.notifier.domain.dedupe import OnClaim, on_claim
from services.notifier.domain.delivery import Attempt, Fail, Hold, Wait, next_step
from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.domain.request import channels_of
from services.notifier.domain.status import status_event, status_event_id

NOW = dt.datetime(2025, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("inserted", "state", "decision"),
    [
        (True, DeliveryState.SENDING, OnClaim.SEND),
        (False, DeliveryState.SENDING, OnClaim.IN_PROGRESS),
        (True, DeliveryState.FAILED, OnClaim.REPORT),  # no contact: decided at once
        (False, DeliveryState.DELIVERED, OnClaim.REPORT),  # a redelivered request
        (False, DeliveryState.FAILED, OnClaim.REPORT),
    ],
)
def test_the_claim_decides_what_a_request_leads_to(
    inserted: bool, state: DeliveryState, decision: OnClaim
) -> None:
    assert on_claim(inserted, state) is decision


def test_both_channels_when_both_addresses_are_known() -> None:
    assert channels_of(Recipient(name="A", email="a@b.dz", phone="+213555000111")) == (
        "email",
        "sms",
    )
    assert channels_of(Recipient(name="A", phone="+213555000111")) == ("sms",)
    assert channels_of(Recipient(name="A")) == ()


def step(**overrides: object) -> object:
    values: dict[str, object] = {
        "channel": "sms",
        "attempts": 0,
        "max_attempts": 6,
        "not_before": NOW,
        "last_error": None,
        "now": NOW,
        "quiet_until": None,
    }
    values.update(overrides)
    return next_step(**values)  # type: ignore[arg-type]


def test_a_due_delivery_is_attempted() -> None:
    assert step() == Attempt()


def test_quiet_hours_hold_sms_but_not_email() -> None:
    morning = NOW + dt.timedelta(hours=10)
    assert step(quiet_until=morning) == Hold(morning)
    assert step(channel="email", quiet_until=morning) == Attempt()


def test_a_delivery_in_backoff_waits() -> None:
    assert step(not_before=NOW + dt.timedelta(seconds=2.5)) == Wait(2.5)


def test_attempts_used_up_before_a_crash_end_as_failed() -> None:
    assert step(attempts=6, last_error="http 503") == Fail("http 503")
    assert step(attempts=6) == Fail("gave up")


def test_a_status_event_is_the_same_event_every_time() -> None:
    key = DeliveryKey("n-1", "email")
    first = status_event(key, "capago-alger", "delivered", 1, None, NOW)
    again = status_event(key, "capago-alger", "delivered", 1, None, NOW)
    assert first.to_json() == again.to_json()
    assert first.id == status_event_id(key, "delivered")
    assert first.subject == "capago-alger"
    failed = status_event(key, "capago-alger", "failed", 0, "no_contact", NOW)
    assert failed.type == "visa.notification.failed.v1"
    assert failed.id != first.id
