"""Offers (CONTRACT v1.1, Replies): every move told to an applicant is an offer they answer.

A centre keeps, per booking, its latest offer (the last visa.appointment.rescheduled.v1)
and what became of it; the notifications held while a plan awaits review; the ids of the
replies and operators' events already folded (one effect per event id); and, to be
written with the rest of the batch, the outcome of every reply and ops event and the calls
logged. The web front reads these rows; only the scheduler's fold writes them.
"""

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from schemas.data import NotificationRequested
from services.common import links

if TYPE_CHECKING:
    from services.scheduler.domain.state import PlanSummary

OfferState = Literal["open", "confirmed", "declined", "changed"]
Verdict = Literal["accepted", "refused"]


@dataclass(slots=True)
class OfferRec:
    """A booking's latest offer. `reply_by` is None while its plan is held for review."""

    offer_id: str  # the rescheduled event's own id
    plan_id: str
    outage_id: str
    from_start: dt.datetime  # the slot held before the offer
    to_start: dt.datetime  # the slot offered
    reply_by: dt.datetime | None
    held: bool = False
    phone: str | None = None
    state: OfferState = "open"
    channel: str | None = None  # web | sms | timeout, once answered
    wants: str | None = None  # call_me | cancel, when declined
    answered_at: dt.datetime | None = None
    answer_id: str | None = None  # the event that answered it
    answers: str | None = None  # made by the applicant's change: the offer it answered
    timeout_at: dt.datetime | None = None  # when the scheduler sent its timeout answer

    def answer(self, state: OfferState, channel: str, at: dt.datetime, answer_id: str,
               wants: str | None = None) -> None:
        self.state, self.channel, self.wants = state, channel, wants
        self.answered_at, self.answer_id = at.astimezone(dt.UTC), answer_id

    def due(self, now: dt.datetime) -> bool:
        """Open, not held, past its reply_by, and not yet answered by a timeout."""
        return (self.state == "open" and not self.held and self.timeout_at is None
                and self.reply_by is not None and self.reply_by <= now)


@dataclass(frozen=True, slots=True)
class HeldNote:
    """A notification held while its plan awaits an operator's approval."""

    plan_id: str
    data: NotificationRequested


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the fold did with one reply or ops event (the page polls it by event id)."""

    event_id: str
    subject: str  # the offer id; a pin's or a call's booking id; an approval's plan id
    verdict: Verdict
    reason: str  # a RefusalReason, or "" when accepted
    detail: str
    at: dt.datetime
    booking_id: str | None = None  # whose it is, when a booking: it leaves with the booking


@dataclass(frozen=True, slots=True)
class Call:
    """One call an operator logged from the call list."""

    booking_id: str
    event_id: str
    at: dt.datetime
    by: str
    outcome: str
    note: str


def _never(_: str) -> bool:
    return False


@dataclass(frozen=True)
class ReplyPolicy:
    """Settings of offers: reply windows, review, and the reply links put in messages."""

    window_h: int = 48
    before_slot_h: int = 24
    in_review: Callable[[str], bool] = _never  # centre id -> its plans are held
    secret: str | None = None  # the signing secret of reply links; None: no links
    public_url: str = "http://127.0.0.1:8080"
    link_days_after_slot: int = 1
    dedupe_days: int = 30  # how long a folded event's id is kept (settings.reply_dedupe_days)

    def reply_by(self, decided: dt.datetime, to_start: dt.datetime) -> dt.datetime:
        """The earlier of `window_h` after the decision and `before_slot_h` before the
        slot, never before the decision: no answer by then counts as confirmed."""
        decided = decided.astimezone(dt.UTC)
        by = min(decided + dt.timedelta(hours=self.window_h),
                 to_start.astimezone(dt.UTC) - dt.timedelta(hours=self.before_slot_h))
        return max(by, decided)

    def variables(self, offer: OfferRec, timezone: str) -> dict[str, str]:
        """What a message needs to carry the reply link and code; none without a secret
        (or while the offer is held: its reply_by is not known yet)."""
        if self.secret is None or offer.reply_by is None:
            return {}
        expires = offer.to_start + dt.timedelta(days=self.link_days_after_slot)
        token = links.sign(offer.offer_id, expires, self.secret)
        return {"reply_url": f"{self.public_url}/r/{token}",
                "reply_code": links.reply_code(offer.offer_id, self.secret),
                "reply_by": offer.reply_by.astimezone(ZoneInfo(timezone)).isoformat()}


@dataclass
class Replies:
    """A centre's offers and what was answered; the dirty parts name what to write."""

    offers: dict[str, OfferRec] = field(default_factory=dict)  # by booking id
    held: dict[str, HeldNote] = field(default_factory=dict)  # by booking id
    held_plans: dict[str, "PlanSummary"] = field(default_factory=dict)  # awaiting approval
    # Reply and ops event ids applied, with their event times: kept dedupe_days (fold).
    folded: dict[str, dt.datetime] = field(default_factory=dict)
    dirty_offers: set[str] = field(default_factory=set)  # absent from offers: deleted
    dirty_held: set[str] = field(default_factory=set)  # absent from held: deleted
    plans: list["PlanSummary"] = field(default_factory=list)  # summaries to write again
    outcomes: list[Outcome] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def offer(self, booking_id: str, offer: OfferRec) -> None:
        self.offers[booking_id] = offer
        self.dirty_offers.add(booking_id)

    def drop(self, booking_id: str) -> None:
        """The booking's offer no longer stands (moved or cancelled upstream, unplaced)."""
        if self.offers.pop(booking_id, None) is not None:
            self.dirty_offers.add(booking_id)

    def touch(self, booking_id: str) -> None:
        self.dirty_offers.add(booking_id)

    def hold(self, booking_id: str, note: HeldNote) -> None:
        self.held[booking_id] = note
        self.dirty_held.add(booking_id)

    def release(self, booking_id: str) -> HeldNote | None:
        note = self.held.pop(booking_id, None)
        if note is not None:
            self.dirty_held.add(booking_id)
        return note

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def clear_dirty(self) -> None:
        self.dirty_offers.clear()
        self.dirty_held.clear()
        self.plans.clear()
        self.outcomes.clear()
        self.calls.clear()


def forget_folded(folded: dict[str, dt.datetime], before: dt.datetime) -> None:
    """Drop the ids of events from before `before`: a copy of one that old is not expected
    (ReplyPolicy.dedupe_days), and keeping every id ever folded would grow without end."""
    for event_id in [e for e, at in folded.items() if at < before]:
        del folded[event_id]


def folded_cut(folded: dict[str, dt.datetime], latest: int, days: int) -> dt.datetime | None:
    """Where forget_folded cuts: `days` before the OLDEST of the `latest` ids folded last
    (insertion order), not before the newest reply's time. One reply stamped far in the
    future would otherwise empty the list, and a later copy of a recent reply would be
    folded twice; the cut only moves once `latest` folds in a row are that new."""
    recent = list(itertools.islice(reversed(folded.values()), latest))
    return min(recent) - dt.timedelta(days=days) if recent else None
