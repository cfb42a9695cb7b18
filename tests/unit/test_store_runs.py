"""Sequence numbers as ranges: what the relay deletes after publishing."""

from services.scheduler.store.bulk import runs


def test_consecutive_numbers_are_one_range() -> None:
    assert runs([5, 3, 4, 6]) == [(3, 6)]


def test_a_gap_starts_a_new_range_and_repeats_count_once() -> None:
    assert runs([1, 2, 4, 4, 7, 8, 9]) == [(1, 2), (4, 4), (7, 9)]


def test_nothing_is_no_range() -> None:
    assert runs([]) == []
