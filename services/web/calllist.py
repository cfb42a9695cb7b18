"""The call list: every booking that needs a person (pure, REPLIES.md).

A booking needs a call when it waits for a place, declined with "call me", every channel
of its latest message failed, or it has no contact details; an operator's call logged
`resolved` takes it off the list until a reason newer than that call appears.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Why = Literal["waiting", "call_me", "failed", "no_contact"]
WHY_WORDS: dict[Why, str] = {
    "waiting": "waiting for a place",
    "call_me": "asked to be called",
    "failed": "every message failed",
    "no_contact": "no e-mail and no phone",
}


@dataclass(frozen=True)
class Need:
    why: Why
    since: dt.datetime | None  # when the reason appeared, when the store says


@dataclass(frozen=True)
class LastCall:
    at: dt.datetime
    outcome: str
    by: str


@dataclass(frozen=True)
class Entry:
    centre_id: str
    booking_id: str
    name: str
    phone: str
    language: str
    needs: tuple[Need, ...]
    timezone: str
    last_call: LastCall | None = None

    @property
    def why(self) -> str:
        return ", ".join(WHY_WORDS[n.why] for n in self.needs)


def open_needs(needs: Iterable[Need], last_call: LastCall | None) -> tuple[Need, ...]:
    """The reasons a resolving call does not cover: those newer than it. A reason the store
    cannot date is older than any call (the call was made knowing it)."""
    if last_call is None or last_call.outcome != "resolved":
        return tuple(needs)
    return tuple(n for n in needs if n.since is not None and n.since > last_call.at)


def every_channel_failed(states: Sequence[str]) -> bool:
    """The deliveries of one message: at least one, and none but failed."""
    return bool(states) and all(s == "failed" for s in states)


CSV_COLUMNS = ("centre", "booking", "name", "phone", "language", "why", "last_call")


def as_csv(entries: Iterable[Entry]) -> str:
    """The list as operations' spreadsheets read it (RFC 4180, a header line)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        call = f"{e.last_call.outcome} by {e.last_call.by}" if e.last_call else ""
        writer.writerow((e.centre_id, e.booking_id, _cell(e.name), e.phone, e.language, e.why,
                         _cell(call)))
    return out.getvalue()


def _cell(value: str) -> str:
    """No formula in a spreadsheet cell from someone's name (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
