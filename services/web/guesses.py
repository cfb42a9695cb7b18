"""A limit on guessing: bad reply links (and bad console passwords) per client address.

A token is 96 bits of HMAC, out of reach of guessing anyway; the limit keeps someone from
hammering the pages and the store while trying. In memory, per process: each replica
counts its own clients (a load balancer keeps them apart enough for this purpose).
"""

import datetime as dt
from collections import deque
from collections.abc import Callable

MAX_CLIENTS = 100_000  # addresses remembered at most: the oldest forgotten first


class GuessLimiter:
    def __init__(self, limit: int, window_s: int, clock: Callable[[], dt.datetime]) -> None:
        self.limit = limit
        self.window = dt.timedelta(seconds=window_s)
        self.clock = clock
        self._misses: dict[str, deque[dt.datetime]] = {}

    def _recent(self, client: str) -> deque[dt.datetime] | None:
        misses = self._misses.get(client)
        if misses is None:
            return None
        since = self.clock() - self.window
        while misses and misses[0] <= since:
            misses.popleft()
        if not misses:
            del self._misses[client]
            return None
        return misses

    def blocked(self, client: str) -> bool:
        """Whether `client` has used up its bad guesses in the current window."""
        misses = self._recent(client)
        return misses is not None and len(misses) >= self.limit

    def missed(self, client: str) -> None:
        """One more bad guess by `client`."""
        misses = self._recent(client)
        if misses is None:
            if len(self._misses) >= MAX_CLIENTS:
                del self._misses[next(iter(self._misses))]
            misses = self._misses[client] = deque()
        misses.append(self.clock())

    def retry_after_s(self, client: str) -> int:
        """Seconds until `client` may try again."""
        misses = self._recent(client)
        if misses is None:
            return 0
        return max(1, int((misses[0] + self.window - self.clock()).total_seconds()) + 1)
