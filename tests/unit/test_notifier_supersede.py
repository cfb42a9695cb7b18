"""Superseded messages (CONTRACT v1.1): the rule, one function per case."""

from schemas.data import NotificationRequested, Recipient
from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.domain.status import outcome_of
from services.notifier.domain.supersede import (
    Pending,
    Supersession,
    arrives_replaced,
    replaced_now,
    supersessions_of,
)
from tests.builders import notification_variables

SMS = DeliveryKey("n-1", "sms")


def requested(n: int, *, booking: int, supersedes: tuple[int, ...] = ()) -> NotificationRequested:
    return NotificationRequested(
        notification_id=f"n-{n}", booking_id=f"BK-{booking}", centre_id="capago-alger",
        template="appointment_rescheduled", language="fr",
        recipient=Recipient(name="Amel Benali", phone="+213555000111"),
        variables=notification_variables(booking), supersedes=tuple(f"n-{i}" for i in supersedes),
    )


def pending(state: DeliveryState = DeliveryState.SENDING, *, in_flight: bool = False,
            booking: str = "BK-1", key: DeliveryKey = SMS) -> Pending:
    return Pending(key, booking, state, in_flight)


def test_a_request_names_what_it_replaces_never_itself() -> None:
    request = requested(2, booking=1, supersedes=(1, 2))
    assert supersessions_of([request]) == [Supersession("BK-1", "n-2", ("n-1",))]
    assert supersessions_of([requested(3, booking=3)]) == []


def test_a_replaced_delivery_not_sent_yet_is_stopped() -> None:
    assert replaced_now([pending()], {"n-1": "BK-1"}) == [SMS]


def test_a_delivery_on_the_wire_is_left_to_its_attempt() -> None:
    assert replaced_now([pending(in_flight=True)], {"n-1": "BK-1"}) == []


def test_a_delivery_already_decided_stays_as_it_is() -> None:
    for state in (DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.SUPERSEDED):
        assert replaced_now([pending(state)], {"n-1": "BK-1"}) == []


def test_only_a_request_of_the_same_booking_replaces_a_delivery() -> None:
    assert replaced_now([pending(booking="BK-9")], {"n-1": "BK-1"}) == []
    assert replaced_now([pending()], {"n-7": "BK-1"}) == []


def test_a_replaced_request_arriving_late_is_never_sent() -> None:
    assert arrives_replaced("BK-1", "BK-1")
    assert not arrives_replaced("BK-1", None)
    assert not arrives_replaced("BK-1", "BK-2")  # another booking's request cannot stop it


def test_a_superseded_delivery_reports_failed_with_the_reason() -> None:
    assert outcome_of(DeliveryState.SUPERSEDED, None) == ("failed", "superseded")
    assert outcome_of(DeliveryState.DELIVERED, None) == ("delivered", None)
    assert outcome_of(DeliveryState.FAILED, "http 400") == ("failed", "http 400")
