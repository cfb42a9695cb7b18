"""Retry policy: which failures are transient, and the bounds of the backoff."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain.model import Failure
from services.notifier.domain.retry import (
    GiveUp,
    RetryIn,
    RetryPolicy,
    after_failure,
    backoff_delay,
    http_failure,
    network_failure,
    scrub,
    smtp_failure,
)

POLICY = RetryPolicy(max_attempts=6, base_s=0.5, cap_s=30.0)


@pytest.mark.parametrize("code", [421, 450, 451, 452])
def test_smtp_4xx_is_transient(code: int) -> None:
    assert smtp_failure(code, "try later").transient


@pytest.mark.parametrize("code", [550, 551, 552, 553, 554])
def test_smtp_5xx_is_permanent(code: int) -> None:
    assert not smtp_failure(code, "no such user").transient


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_http_2xx_is_delivered(status: int) -> None:
    assert http_failure(status) is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_http_429_and_5xx_are_transient(status: int) -> None:
    failure = http_failure(status)
    assert failure is not None
    assert failure.transient


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_http_4xx_other_than_429_is_permanent(status: int) -> None:
    failure = http_failure(status)
    assert failure is not None
    assert not failure.transient


def test_connection_failures_are_transient() -> None:
    assert network_failure("smtp timeout").transient


def test_retry_after_is_read_in_seconds() -> None:
    failure = http_failure(429, "7")
    assert failure is not None
    assert failure.retry_after_s == 7.0
    http_date = http_failure(503, "Wed, 21 Oct 2025 07:28:00 GMT")
    assert http_date is not None
    assert http_date.retry_after_s is None


def test_server_replies_lose_addresses_and_numbers_before_logging() -> None:
    reply = "5.1.1 <amel.benali@example.dz>: user unknown, call +213 555 00 01 11"
    error = smtp_failure(550, reply)
    assert "amel" not in error.error
    assert "555" not in error.error
    assert error.error.startswith("smtp 550")
    assert "@" not in scrub("write to a@b.dz")


def test_a_permanent_failure_ends_at_the_first_attempt() -> None:
    assert after_failure(1, Failure(False, "http 400"), POLICY, 0.5) == GiveUp("http 400")


def test_a_transient_failure_is_retried_until_the_last_attempt() -> None:
    failure = Failure(True, "http 503")
    assert isinstance(after_failure(5, failure, POLICY, 0.5), RetryIn)
    assert after_failure(6, failure, POLICY, 0.5) == GiveUp("http 503")


def test_retry_after_lengthens_the_wait_up_to_the_cap() -> None:
    assert after_failure(1, Failure(True, "http 429", 10.0), POLICY, 0.0) == RetryIn(10.0)
    assert after_failure(1, Failure(True, "http 429", 999.0), POLICY, 0.0) == RetryIn(30.0)


def test_backoff_doubles_then_stays_at_the_cap() -> None:
    ceilings = [backoff_delay(n, POLICY, 1.0) for n in range(1, 10)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


@given(
    attempt=st.integers(min_value=1, max_value=200),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    base=st.floats(min_value=0.001, max_value=10.0),
    cap=st.floats(min_value=0.01, max_value=600.0),
)
def test_backoff_lies_between_half_and_all_of_its_ceiling(
    attempt: int, jitter: float, base: float, cap: float
) -> None:
    policy = RetryPolicy(max_attempts=10, base_s=base, cap_s=cap)
    ceiling = min(cap, base * 2 ** (attempt - 1))
    delay = backoff_delay(attempt, policy, jitter)
    assert ceiling / 2 <= delay <= ceiling <= cap
