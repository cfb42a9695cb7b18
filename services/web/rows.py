"""The rows the replies and the console read: offers, the scheduler's answers, a centre.

`reply_outcomes` is the scheduler's table (REPLIES.md: one row per reply or operator's act
it folded); its store creates and writes it. The front only reads it by name, with the
columns the contract gives, so it describes the table here until the scheduler's tables.py
has it, and uses the scheduler's own description once it does.
"""

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.scheduler.store import tables as t
from services.web.events import OfferKey
from services.web.readmodel import zone


def _described() -> sa.Table:
    return sa.Table(
        "reply_outcomes", sa.MetaData(),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("centre_id", sa.String(100), nullable=False),
        sa.Column("offer_id", sa.String(200), nullable=False, index=True),
        sa.Column("outcome", sa.String(10), nullable=False),  # accepted | refused
        sa.Column("reason", sa.String(30), nullable=False),  # a RefusalReason, or ""
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
    )


_scheduler_s: sa.Table | None = getattr(t, "reply_outcomes", None)
reply_outcomes: sa.Table = _scheduler_s if _scheduler_s is not None else _described()


def when(stored: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(stored) if stored else None


@dataclass(frozen=True)
class Offer:
    centre_id: str
    booking_id: str
    offer_id: str
    plan_id: str
    outage_id: str
    from_start: dt.datetime
    to_start: dt.datetime
    reply_by: dt.datetime | None
    state: str  # open | confirmed | declined | changed
    channel: str | None
    wants: str | None
    answered_at: dt.datetime | None
    held: bool
    phone: str | None

    @property
    def key(self) -> OfferKey:
        return OfferKey(self.offer_id, self.booking_id, self.centre_id)

    def answerable(self, now: dt.datetime) -> bool:
        """Open, out of review, before its deadline: the page offers its three actions."""
        return (self.state == "open" and not self.held and self.reply_by is not None
                and now < self.reply_by)


def offer_of(row: Any) -> Offer:
    return Offer(row.centre_id, row.booking_id, row.offer_id, row.plan_id, row.outage_id,
                 dt.datetime.fromisoformat(row.from_start), dt.datetime.fromisoformat(row.to_start),
                 when(row.reply_by), row.state, row.channel, row.wants, when(row.answered_at),
                 bool(row.held), row.phone)


@dataclass(frozen=True)
class Outcome:
    """The scheduler's answer to one event the front published."""

    event_id: str
    centre_id: str
    offer_id: str
    outcome: str  # accepted | refused
    reason: str
    detail: str
    at: dt.datetime | None


# What the web reads of an outcome, named: a store whose scheduler has not yet added a
# later column (its booking_id) is read all the same.
OUTCOME_COLUMNS = tuple(reply_outcomes.c[name] for name in (
    "event_id", "centre_id", "offer_id", "outcome", "reason", "detail", "at"))


def outcome_of(row: Any) -> Outcome:
    return Outcome(row.event_id, row.centre_id, row.offer_id, row.outcome, row.reason or "",
                   row.detail or "", when(row.at))


@dataclass(frozen=True)
class Centre:
    centre_id: str
    name: str
    address: str
    city: str
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        found = zone(self.timezone)
        return found if isinstance(found, ZoneInfo) else ZoneInfo("UTC")


def centre_of(centre_id: str, info: str) -> Centre:
    known = json.loads(info)
    return Centre(centre_id, str(known.get("name") or centre_id),
                  str(known.get("address") or ""), str(known.get("city") or ""),
                  str(known.get("timezone") or "UTC"))


@dataclass(frozen=True)
class Applicant:
    name: str
    language: str
    email: str | None
    phone: str | None


def applicant_of(stored: str | None) -> Applicant | None:
    if not stored:
        return None
    known = json.loads(stored)
    return Applicant(str(known.get("name") or ""), str(known.get("language") or "fr"),
                     known.get("email"), known.get("phone"))

