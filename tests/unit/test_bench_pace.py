"""bench/machine.py: how the pace of this machine compares with the previous results'."""

from bench.machine import pace_comparison, pace_s


def test_a_slower_machine_is_named_slower_with_its_ratio() -> None:
    assert pace_comparison(0.2, 0.15).startswith("1.33 x slower")


def test_a_faster_machine_is_named_faster_with_its_ratio() -> None:
    assert pace_comparison(0.1, 0.15).startswith("1.50 x faster")


def test_within_five_percent_is_the_same_pace() -> None:
    assert pace_comparison(0.1, 0.104).startswith("the same pace")


def test_no_previous_pace_is_said_so() -> None:
    for before in (None, 0.0, -1.0):
        assert pace_comparison(0.1, before).startswith("the previous results have no pace")


def test_the_pace_is_a_positive_duration() -> None:
    assert 0 < pace_s(repeats=1) < 60
