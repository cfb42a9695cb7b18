"""A person's choice of slot for a family: every hard rule, feasible and infeasible."""

import datetime as dt
from zoneinfo import ZoneInfo

from services.scheduler.domain.choice import Closure, Movers, SlotView, alternatives, refusal

TZ = ZoneInfo("Africa/Algiers")
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def movers(*starts: dt.datetime, anchors: tuple[dt.datetime, ...] = (),
           notice_min: int = 1440, horizon_days: int = 30) -> Movers:
    return Movers("short_stay", starts, starts[0], anchors, TZ, notice_min, horizon_days, 30)


def slot(start: dt.datetime, free: int = 2) -> SlotView:
    return SlotView(start, start + dt.timedelta(minutes=15), free)


def test_a_free_slot_after_the_notice_is_allowed() -> None:
    assert refusal(movers(at(3, 10)), slot(at(4, 9)), [], NOW) is None


def test_a_slot_without_room_for_the_whole_family_is_refused() -> None:
    assert refusal(movers(at(3, 10), at(3, 10)), slot(at(4, 9), free=1), [], NOW) == \
        "the slot has 1 place(s) left for 2"


def test_a_slot_inside_an_outage_is_refused_for_its_services_only() -> None:
    closed = [Closure(at(4, 8), at(4, 12), ("short_stay",))]
    assert refusal(movers(at(3, 10)), slot(at(4, 9)), closed, NOW) == \
        "the slot is inside an outage"
    other = [Closure(at(4, 8), at(4, 12), ("long_stay",))]
    assert refusal(movers(at(3, 10)), slot(at(4, 9)), other, NOW) is None


def test_a_slot_too_soon_for_the_notice_is_refused() -> None:
    assert refusal(movers(at(3, 10)), slot(at(2, 8)), [], NOW) == \
        "the slot starts less than 1440 minutes from now"
    assert refusal(movers(at(3, 10)), slot(at(2, 9)), [], NOW) is None  # exactly the notice


def test_a_slot_past_the_horizon_is_refused() -> None:
    far = dt.datetime(2027, 1, 3, 10, 0, tzinfo=TZ)
    assert refusal(movers(at(3, 10)), slot(far), [], NOW) == \
        "the slot is more than 30 days after the appointment"
    assert refusal(movers(at(3, 10), horizon_days=60), slot(far), [], NOW) is None


def test_a_family_member_who_stays_put_pins_the_day_and_the_window() -> None:
    stays = (at(5, 10),)
    assert refusal(movers(at(3, 10), anchors=stays), slot(at(4, 10)), [], NOW) == \
        "the family would be seen on different days"
    assert refusal(movers(at(3, 10), anchors=stays), slot(at(5, 11)), [], NOW) == \
        "the family would start more than 30 minutes apart"
    assert refusal(movers(at(3, 10), anchors=stays), slot(at(5, 10, 30)), [], NOW) is None


def test_alternatives_are_the_allowed_slots_nearest_the_original_one() -> None:
    slots = [slot(at(d, h), free=f) for d, h, f in
             [(2, 8, 2), (4, 9, 2), (3, 15, 0), (3, 16, 2), (5, 10, 2), (3, 8, 2)]]
    found = alternatives(movers(at(3, 10)), slots, [], NOW, limit=3)
    assert [s.start for s in found] == [at(3, 8), at(3, 16), at(4, 9)]
    assert alternatives(movers(at(3, 10)), slots, [], NOW, limit=0) == []
