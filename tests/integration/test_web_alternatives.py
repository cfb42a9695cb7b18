"""The times the reply page offers a family, read from a real store (SQLite, PostgreSQL):
every hard rule holds for the whole family, counting every active booking, and a slot
that breaks one is refused with the rule in words."""

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from services.web.family import Policy
from services.web.readreplies import ReplyReads
from tests.webstore import Rows, at, open_store

pytestmark = pytest.mark.integration
NOW = at(1, 9)  # the front's clock: 1 March 2026, 09:00 in Algiers
POLICY = Policy(horizon_days=30, waiting_horizon_days=60, window_min=30)


@pytest.fixture
async def rows(store_url: str) -> AsyncIterator[Rows]:
    store = await open_store(store_url)
    try:
        rows = Rows(store.engine)
        await rows.centre()
        yield rows
    finally:
        await store.close()


async def family_moved_to_the_3rd(rows: Rows) -> None:
    """A family of three: two displaced by the outage of the 2nd (14:00-17:00) and moved to
    the 3rd at 10:00, the third never displaced, on the 3rd at 10:30: all three move
    together into the slot chosen (the scheduler's rule, family_choice.py)."""
    await rows.outage(at(2, 13), at(2, 17))
    for member in ("F-1", "F-2"):
        await rows.booking(member, at(3, 10), group_id="family")
        await rows.decision(member, "moved", at(2, 14), at(3, 10))
    await rows.booking("F-3", at(3, 10, 30), group_id="family")
    await rows.booking("F-4", at(3, 11), group_id="family", status="cancelled")


async def test_a_family_is_offered_only_slots_with_room_for_all_of_it(rows: Rows) -> None:
    await family_moved_to_the_3rd(rows)
    await rows.slots([at(3, 9, 30), at(3, 10, 30), at(3, 11), at(4, 10, 30)], capacity=3)
    await rows.slots([at(3, 10)], capacity=2)
    await rows.slots([at(3, 12)], capacity=0)  # withdrawn
    await rows.fill(at(3, 11), 1)  # two places left: too few for three
    reads = ReplyReads(rows.engine, POLICY, 1440)
    case = await reads.case("capago-alger", "F-1")
    assert case is not None
    movers = reads.movers(case)
    assert movers.starts == (at(3, 10), at(3, 10), at(3, 10, 30))  # the cancelled one stays
    assert movers.anchors == ()

    allowed = await reads.allowed(case, NOW, limit=5)
    # 10:00 and 10:30 are where they are; 11:00 has two places; nearest the 2nd, 14:00
    assert [s.start for s in allowed] == [at(3, 9, 30), at(4, 10, 30)]
    assert [s.free for s in allowed] == [3, 3]

    assert await reads.refusal(case, at(3, 11), NOW) == "the slot has 2 place(s) left for 3"
    # the members already in a slot count as free there: 10:30 holds one of them
    assert await reads.refusal(case, at(3, 10, 30), NOW) is None
    assert await reads.refusal(case, at(3, 12), NOW) == "no such slot is open for this service"
    assert await reads.refusal(case, at(3, 13), NOW) == "no such slot is open for this service"
    assert await reads.case("capago-alger", "F-3") is None  # never displaced: no case


async def test_notice_outage_horizon_and_capacity_for_one_booking(rows: Rows) -> None:
    await rows.outage(at(2, 13), at(2, 17), notice_min=1440)
    await rows.booking("B-1", at(3, 10))
    await rows.decision("B-1", "moved", at(2, 14), at(3, 10))
    await rows.slots([at(1, 15), at(2, 10), at(2, 14), at(2, 17), at(3, 10), at(3, 11),
                      at(31, 10), at(3, 10, 30, month=4)], capacity=1)
    await rows.slots([at(2, 10, 30)], capacity=1, service="long_stay")  # another service
    await rows.fill(at(2, 17), 1)  # full
    reads = ReplyReads(rows.engine, POLICY, 1440)
    case = await reads.case("capago-alger", "B-1")
    assert case is not None
    allowed = await reads.allowed(case, NOW, limit=10)
    # nearest the original slot (2nd, 14:00) first
    assert [s.start for s in allowed] == [at(2, 10), at(3, 11), at(31, 10)]
    assert await reads.refusal(case, at(1, 15), NOW) == \
        "the slot starts less than 1440 minutes from now"
    assert await reads.refusal(case, at(2, 14), NOW) == "the slot is inside an outage"
    assert await reads.refusal(case, at(2, 17), NOW) == "the slot has 0 place(s) left for 1"
    assert await reads.refusal(case, at(3, 10, 30, month=4), NOW) == \
        "the slot is more than 30 days after the appointment"
    assert await reads.refusal(case, at(2, 10, 30), NOW) == \
        "no such slot is open for this service"
    assert len(await reads.allowed(case, NOW, limit=2)) == 2


async def test_a_waiting_booking_has_the_waiting_horizon_and_a_lifted_outage_closes_nothing(
        rows: Rows) -> None:
    await rows.outage(at(2, 13), at(2, 17), active=False)  # lifted
    await rows.outage(at(3, 8), at(3, 12), outage_id="other", services=["long_stay"])
    await rows.booking("W-1", at(2, 14))
    await rows.decision("W-1", "unplaced", at(2, 14), reason="no_capacity_in_horizon")
    far = at(2, 14) + dt.timedelta(days=45)
    await rows.slots([at(2, 15), at(3, 9), far], capacity=1)
    reads = ReplyReads(rows.engine, POLICY, 1440)
    case = await reads.case("capago-alger", "W-1")
    assert case is not None
    assert case.standing.waiting
    allowed = await reads.allowed(case, NOW, limit=5)
    assert [s.start for s in allowed] == [at(2, 15), at(3, 9), far]
    assert reads.movers(case).horizon_days == 60
