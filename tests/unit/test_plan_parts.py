"""plan_parts: a batch cut after each record that may plan, never between two records of
one key (services/scheduler/parts.py)."""

from hypothesis import given
from hypothesis import strategies as st

from schemas.topics import Topic
from services.scheduler.parsing import InputRecord
from services.scheduler.parts import PLANNING_TOPICS, plan_parts

BOOKINGS, ROUTED, OUTAGES = Topic.BOOKINGS, Topic.OUTAGES_BY_CENTRE, Topic.OUTAGES


def rec(topic: str, key: str | None, offset: int = 0) -> InputRecord:
    return InputRecord(topic, 0, offset, key.encode() if key is not None else None, b"{}", 0)


def shape(parts: list[list[InputRecord]]) -> list[list[str]]:
    return [[f"{r.topic.split('.')[1]}:{(r.key or b'-').decode()}" for r in p] for p in parts]


def test_each_routed_copy_of_a_portal_outage_is_a_part_of_its_own() -> None:
    records = [rec(ROUTED, c) for c in ("c00", "c01", "c02")]
    assert plan_parts(records) == [[records[0]], [records[1]], [records[2]]]


def test_a_centres_records_before_its_outage_go_with_it() -> None:
    records = [rec(BOOKINGS, "a"), rec(ROUTED, "a"), rec(BOOKINGS, "b"), rec(ROUTED, "b")]
    assert shape(plan_parts(records)) == [["bookings:a", "outages-by-centre:a"],
                                          ["bookings:b", "outages-by-centre:b"]]


def test_no_cut_between_two_records_of_one_centre() -> None:
    records = [rec(BOOKINGS, "a"), rec(BOOKINGS, "b"), rec(ROUTED, "a"), rec(ROUTED, "b")]
    assert plan_parts(records) == [records]  # b's booking is before the cut after a's outage


def test_no_cut_while_the_planned_centre_has_records_after_its_outage() -> None:
    records = [rec(ROUTED, "a"), rec(BOOKINGS, "a"), rec(ROUTED, "b")]
    assert plan_parts(records) == [records]  # the cut after b's outage would leave nothing


def test_a_cut_waits_for_the_last_record_of_every_key_seen() -> None:
    records = [rec(BOOKINGS, "a"), rec(ROUTED, "b"), rec(BOOKINGS, "a"), rec(OUTAGES, "c"),
               rec(BOOKINGS, "d")]
    assert shape(plan_parts(records)) == [
        ["bookings:a", "outages-by-centre:b", "bookings:a", "outages:c"], ["bookings:d"]]


def test_without_a_planning_record_the_batch_stays_whole() -> None:
    records = [rec(BOOKINGS, "a"), rec(BOOKINGS, "b")]
    assert plan_parts(records) == [records]


def test_an_empty_batch_is_one_empty_part() -> None:
    assert plan_parts([]) == [[]]


def test_records_without_a_key_are_one_key() -> None:
    records = [rec(BOOKINGS, None), rec(ROUTED, "a"), rec(BOOKINGS, None), rec(ROUTED, "b")]
    assert shape(plan_parts(records)) == [["bookings:-", "outages-by-centre:a", "bookings:-",
                                           "outages-by-centre:b"]]


_records = st.lists(st.tuples(st.sampled_from([BOOKINGS, ROUTED, OUTAGES, Topic.REPLIES]),
                              st.sampled_from(["a", "b", "c", "d", None])), max_size=30)


@given(_records)
def test_parts_keep_order_split_no_key_and_cut_wherever_allowed(
        spec: list[tuple[str, str | None]]) -> None:
    records = [rec(topic, key, i) for i, (topic, key) in enumerate(spec)]
    parts = plan_parts(records)
    assert [r for p in parts for r in p] == records  # nothing lost, reordered or repeated
    keys = [{r.key for r in p} for p in parts]
    for i, k in enumerate(keys):
        assert not any(k & other for other in keys[i + 1:])  # no key on two sides
    for p in parts[:-1]:
        assert p
        assert p[-1].topic in PLANNING_TOPICS  # cut only after a planning record
    cuts = {sum(len(p) for p in parts[:i + 1]) for i in range(len(parts) - 1)}
    for i, r in enumerate(records[:-1]):  # and wherever that is allowed
        before, after = {x.key for x in records[:i + 1]}, {x.key for x in records[i + 1:]}
        if r.topic in PLANNING_TOPICS and not before & after:
            assert i + 1 in cuts
