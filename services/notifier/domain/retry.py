"""Which failures are worth another attempt, and how long to wait before it."""

import re
from dataclasses import dataclass

from services.notifier.domain.model import Failure

_PERSONAL = re.compile(r"[^\s<>@]+@[^\s<>@]+|\+?\d[\d .-]{5,}\d")


def scrub(text: str, limit: int = 120) -> str:
    """Drop e-mail addresses and phone-like numbers from a server's reply: errors get logged."""
    return _PERSONAL.sub("…", " ".join(text.split()))[:limit]


def smtp_failure(code: int, message: str) -> Failure:
    """SMTP reply: 4xx is temporary (greylisting, mailbox busy), 5xx is final."""
    transient = not 500 <= code < 600
    detail = scrub(message)
    return Failure(transient, f"smtp {code}: {detail}" if detail else f"smtp {code}")


def http_failure(status: int, retry_after: str | None = None) -> Failure | None:
    """SMS gateway status: None when accepted, transient for 408/425/429/5xx, else final."""
    if 200 <= status < 300:
        return None
    transient = status in (408, 425, 429) or 500 <= status < 600
    return Failure(transient, f"http {status}", _seconds(retry_after) if transient else None)


def network_failure(kind: str) -> Failure:
    """Connection refused or reset, DNS, timeouts: the other side may be back soon."""
    return Failure(True, kind)


def _seconds(retry_after: str | None) -> float | None:
    if retry_after is None:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        return None  # an HTTP date: ignored, the backoff applies


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_s: float
    cap_s: float


@dataclass(frozen=True)
class RetryIn:
    delay_s: float


@dataclass(frozen=True)
class GiveUp:
    error: str


def backoff_delay(attempt: int, policy: RetryPolicy, jitter: float) -> float:
    """Delay after failed attempt `attempt` (1-based): exponential, capped, "equal jitter".

    With jitter in [0, 1] the delay lies in [ceiling / 2, ceiling] where
    ceiling = min(cap, base * 2^(attempt-1)).
    """
    ceiling = min(policy.cap_s, policy.base_s * 2.0 ** min(attempt - 1, 60))
    return ceiling / 2 + ceiling / 2 * min(max(jitter, 0.0), 1.0)


def after_failure(
    attempt: int, failure: Failure, policy: RetryPolicy, jitter: float
) -> RetryIn | GiveUp:
    """Retry a transient failure while attempts remain; a permanent one ends at once."""
    if not failure.transient or attempt >= policy.max_attempts:
        return GiveUp(failure.error)
    delay = backoff_delay(attempt, policy, jitter)
    if failure.retry_after_s is not None:
        delay = min(max(delay, failure.retry_after_s), policy.cap_s)
    return RetryIn(delay)
