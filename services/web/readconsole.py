"""What the operations console reads: plans held for review and the call list.

The call list joins the scheduler's store (decisions, bookings, offers, call_log) with the
notifier's (deliveries: every channel of a booking's latest message failed); both are read
only. Each query is one short connection; the pure rules are in calllist.py.
"""

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.store.tables import deliveries
from services.scheduler.store import tables as t
from services.web.calllist import Entry, LastCall, Need, Why, every_channel_failed, open_needs
from services.web.rows import Centre, applicant_of, centre_of, offer_of, when

CHUNK = 500  # ids per IN (...) list
APPROVED_SHOWN = 20


@dataclass(frozen=True)
class DraftDecision:
    booking_id: str
    name: str
    kind: str
    from_start: dt.datetime
    to_start: dt.datetime | None
    reason: str
    waiting: bool


@dataclass(frozen=True)
class HeldPlan:
    plan_id: str
    centre: Centre
    outage_id: str
    summary: dict[str, Any]
    decisions: tuple[DraftDecision, ...]
    approved: bool  # the scheduler has applied an approval (or released its offers)
    approved_by: str = ""


@dataclass(frozen=True)
class Answered:
    """An applicant's answer as it stands (an offer with a channel)."""

    centre: Centre
    booking_id: str
    name: str
    state: str  # confirmed | declined | changed
    channel: str
    wants: str | None
    to_start: dt.datetime
    answered_at: dt.datetime | None


@dataclass
class _Booking:
    centre_id: str
    booking_id: str
    applicant: Any
    needs: list[Need]


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


class ConsoleReads:
    def __init__(self, engine: AsyncEngine, notifier_engine: AsyncEngine | None) -> None:
        self.engine = engine
        self.notifier = notifier_engine

    async def centres(self) -> dict[str, Centre]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.centres))).all()
        return {r.centre_id: centre_of(r.centre_id, r.info) for r in rows}

    async def held_plans(self) -> list[HeldPlan]:
        """Every plan held for review, with its decisions: those awaiting approval first, then
        the last APPROVED_SHOWN approved (the scheduler keeps `held: false, approved_by` in
        an approved plan's summary)."""
        centres = await self.centres()
        async with self.engine.connect() as conn:
            plans = [json.loads(s) for s in (await conn.execute(
                sa.select(t.plans.c.summary))).scalars()]
            held = [p for p in plans if p.get("held") is True or p.get("approved_by")]
            found = []
            for p in held:
                rows = (await conn.execute(
                    sa.select(t.decisions, t.bookings.c.applicant).join(t.bookings, sa.and_(
                        t.bookings.c.centre_id == t.decisions.c.centre_id,
                        t.bookings.c.booking_id == t.decisions.c.booking_id))
                    .where(t.decisions.c.plan_id == p["plan_id"])
                    .order_by(t.decisions.c.at_start, t.decisions.c.booking_id))).all()
                released = (await conn.execute(sa.select(sa.func.count()).select_from(t.offers)
                                               .where(t.offers.c.plan_id == p["plan_id"],
                                                      t.offers.c.held.is_(False)))).scalar()
                by = str(p.get("approved_by") or "")
                found.append(HeldPlan(
                    p["plan_id"], centres.get(p["centre_id"]) or centre_of(p["centre_id"], "{}"),
                    p["outage_id"], p, tuple(_draft(r) for r in rows),
                    bool(by) or bool(released), by))
        found.sort(key=lambda h: (h.approved, h.centre.centre_id, h.plan_id))
        waiting = [h for h in found if not h.approved]
        return waiting + [h for h in found if h.approved][:APPROVED_SHOWN]

    async def answers(self, limit: int = 50) -> list[Answered]:
        """The latest answers of applicants (web, SMS, or none by the deadline)."""
        centres = await self.centres()
        o = t.offers.c
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                sa.select(t.offers, t.bookings.c.applicant).join(t.bookings, sa.and_(
                    t.bookings.c.centre_id == o.centre_id,
                    t.bookings.c.booking_id == o.booking_id))
                .where(o.channel.is_not(None))
                .order_by(o.answered_at.desc(), o.booking_id).limit(limit))).all()
        found = []
        for r in rows:
            offer, applicant = offer_of(r), applicant_of(r.applicant)
            found.append(Answered(
                centres.get(offer.centre_id) or centre_of(offer.centre_id, "{}"),
                offer.booking_id, applicant.name if applicant else "", offer.state,
                offer.channel or "", offer.wants, offer.to_start, offer.answered_at))
        return found

    async def call_list(self) -> list[Entry]:
        """Every booking that needs a person now, by centre and since when."""
        centres = await self.centres()
        found: dict[tuple[str, str], _Booking] = {}
        notifications: dict[str, tuple[str, str]] = {}  # latest message -> booking
        async with self.engine.connect() as conn:
            standing = (await conn.execute(
                sa.select(t.decisions, t.bookings.c.applicant, t.bookings.c.slot_start,
                          t.bookings.c.status).join(t.bookings, sa.and_(
                              t.bookings.c.centre_id == t.decisions.c.centre_id,
                              t.bookings.c.booking_id == t.decisions.c.booking_id)))).all()
            declined = (await conn.execute(sa.select(t.offers, t.bookings.c.applicant).join(
                t.bookings, sa.and_(t.bookings.c.centre_id == t.offers.c.centre_id,
                                    t.bookings.c.booking_id == t.offers.c.booking_id))
                .where(t.offers.c.state == "declined", t.offers.c.wants == "call_me"))).all()
            calls = (await conn.execute(sa.select(t.call_log).order_by(t.call_log.c.at))).all()

        def need(centre_id: str, booking_id: str, applicant: Any, why: Why,
                 since: dt.datetime | None) -> None:
            entry = found.setdefault((centre_id, booking_id),
                                     _Booking(centre_id, booking_id, applicant, []))
            entry.needs.append(Need(why, since))

        created, failed = await self._deliveries([r.notification_id for r in standing
                                                  if r.notification_id])
        for r in standing:
            if r.status != "active" or r.slot_start is None:
                continue
            holds = r.slot_start == (r.at_start if r.kind == "unplaced" else r.to_start)
            if not holds:
                continue
            key = (r.centre_id, r.booking_id)
            # when it was decided: the scheduler's decided_at where its store has it, else
            # when the notifier first handled the decision's message
            since = when(r._mapping.get("decided_at")) or created.get(r.notification_id or "")
            if r.notification_id:
                notifications[r.notification_id] = key
            applicant = applicant_of(r.applicant)
            if r.kind == "unplaced":
                need(*key, r.applicant, "waiting", since)
            if applicant is None or not (applicant.email or applicant.phone):
                need(*key, r.applicant, "no_contact", since)
            if r.notification_id in failed:
                need(*key, r.applicant, "failed", failed[r.notification_id])
        for r in declined:
            offer = offer_of(r)
            need(offer.centre_id, offer.booking_id, r.applicant, "call_me", offer.answered_at)
        last: dict[tuple[str, str], LastCall] = {}
        for c in calls:
            at = when(c.at)
            if at is not None:
                last[(c.centre_id, c.booking_id)] = LastCall(at, c.outcome, c.by)
        entries = []
        for key, b in found.items():
            needs = open_needs(b.needs, last.get(key))
            if not needs:
                continue
            applicant = applicant_of(b.applicant)
            centre = centres.get(b.centre_id)
            entries.append(Entry(
                b.centre_id, b.booking_id, applicant.name if applicant else "",
                (applicant.phone or "") if applicant else "",
                applicant.language if applicant else "", needs,
                centre.timezone if centre else "UTC", last.get(key)))
        return sorted(entries, key=lambda e: (e.centre_id, e.booking_id))

    async def _deliveries(self, ids: list[str],
                          ) -> tuple[dict[str, dt.datetime], dict[str, dt.datetime | None]]:
        """From the notifier's store: when each message was first handled, and the messages
        every channel of which failed (with when the last one did)."""
        created: dict[str, dt.datetime] = {}
        states: dict[str, list[str]] = {}
        finished: dict[str, dt.datetime | None] = {}
        if self.notifier is None or not ids:
            return created, {}
        async with self.notifier.connect() as conn:
            if not await conn.run_sync(lambda c: sa.inspect(c).has_table(deliveries.name)):
                return created, {}  # the notifier has not started on this store yet
            d = deliveries.c
            for chunk in _chunks(sorted(set(ids))):
                rows = (await conn.execute(sa.select(
                    d.notification_id, d.state, d.created_at, d.finished_at)
                    .where(d.notification_id.in_(chunk)))).all()
                for r in rows:
                    first = created.get(r.notification_id)
                    created[r.notification_id] = min(first, r.created_at) if first else r.created_at
                    states.setdefault(r.notification_id, []).append(r.state)
                    last = finished.get(r.notification_id)
                    if r.finished_at is not None and (last is None or r.finished_at > last):
                        finished[r.notification_id] = r.finished_at
        failed = {n: finished.get(n) for n, s in states.items() if every_channel_failed(s)}
        return created, failed


def _draft(row: Any) -> DraftDecision:
    applicant = applicant_of(row.applicant)
    at_start = when(row.at_start)
    assert at_start is not None
    return DraftDecision(row.booking_id, applicant.name if applicant else "", row.kind,
                         at_start, when(row.to_start), row.reason, row.kind == "unplaced")
