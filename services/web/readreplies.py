"""What the reply page, the SMS replies and the pin read from the scheduler's store.

Read-only, one short connection per call. A `Case` is a displaced booking with everything
its family's choice of slot is judged on; `allowed` and `refusal` judge with the
scheduler's own rule (choice.py), over the store as it is at that moment.
"""

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.scheduler.domain import choice
from services.scheduler.store import tables as t
from services.web import family as fam
from services.web.events import changed_id, utc_iso
from services.web.rows import (
    OUTCOME_COLUMNS,
    Applicant,
    Centre,
    Offer,
    Outcome,
    applicant_of,
    centre_of,
    offer_of,
    outcome_of,
    reply_outcomes,
    when,
)


@dataclass(frozen=True)
class Case:
    """A booking with a standing decision, its family, its centre and the centre's outages."""

    centre: Centre
    booking: fam.Member
    service: str
    applicant: Applicant | None
    family: tuple[fam.Member, ...]
    notice_min: int
    closures: tuple[choice.Closure, ...]
    outage_clock: dt.datetime | None = None  # the notice never counts from before it

    def clock(self, now: dt.datetime) -> dt.datetime:
        """The time a choice made `now` is judged at (the decision's clock)."""
        return max(now, self.outage_clock) if self.outage_clock is not None else now

    @property
    def standing(self) -> fam.Standing:
        assert self.booking.standing is not None
        return self.booking.standing


def _standing(row: sa.Row[tuple[object, ...]] | None) -> fam.Standing | None:
    if row is None:
        return None
    m = row._mapping
    at_start = when(m["at_start"])
    assert at_start is not None
    return fam.Standing(str(m["kind"]), str(m["plan_id"]), str(m["outage_id"]),
                        str(m["reason"]), at_start, when(m["to_start"]),
                        when(m["original_start"]))


class ReplyReads:
    def __init__(self, engine: AsyncEngine, policy: fam.Policy, default_notice_min: int) -> None:
        self.engine = engine
        self.policy = policy
        self.default_notice_min = default_notice_min

    async def offer(self, offer_id: str) -> Offer | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t.offers)
                                      .where(t.offers.c.offer_id == offer_id))).first()
        return offer_of(row) if row else None

    async def offer_of_booking(self, centre_id: str, booking_id: str) -> Offer | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t.offers).where(
                t.offers.c.centre_id == centre_id, t.offers.c.booking_id == booking_id))).first()
        return offer_of(row) if row else None

    async def offers_of_phone(self, phone: str) -> list[Offer]:
        """Every offer sent to `phone`, newest slot first."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.offers).where(t.offers.c.phone == phone)
                                       .order_by(t.offers.c.to_start.desc()))).all()
        return [offer_of(r) for r in rows]

    async def outcome(self, event_id: str) -> Outcome | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(*OUTCOME_COLUMNS)
                                      .where(reply_outcomes.c.event_id == event_id))).first()
        return outcome_of(row) if row else None

    async def outcomes_of(self, offer_id: str) -> list[Outcome]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(*OUTCOME_COLUMNS)
                                       .where(reply_outcomes.c.offer_id == offer_id)
                                       .order_by(reply_outcomes.c.at))).all()
        return [outcome_of(r) for r in rows]

    async def changed_into(self, offer_id: str) -> Offer | None:
        """The offer an accepted change of `offer_id` made: the one that names `offer_id` as
        the offer it answers (the scheduler writes it), in the slot an accepted changed reply
        to `offer_id` named. Never found by its slot alone: another applicant's offer may be
        in the same slot, and the holder of this link must not see it."""
        outcomes = [o for o in await self.outcomes_of(offer_id) if o.outcome == "accepted"]
        if not outcomes:
            return None
        accepted = {o.event_id for o in outcomes}
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(t.offers).where(
                t.offers.c.answers == offer_id,
                t.offers.c.centre_id == outcomes[0].centre_id))).all()
        for row in rows:
            offer = offer_of(row)
            if changed_id(offer_id, offer.to_start) in accepted:
                return offer
        return None

    async def applicant(self, centre_id: str, booking_id: str) -> Applicant | None:
        async with self.engine.connect() as conn:
            stored = (await conn.execute(sa.select(t.bookings.c.applicant).where(
                t.bookings.c.centre_id == centre_id,
                t.bookings.c.booking_id == booking_id))).scalar()
        return applicant_of(stored)

    async def booking_facts(self, centre_id: str, booking_id: str,
                            ) -> tuple[str, Applicant | None, str]:
        """(service, applicant, reason of its standing decision) of a booking."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t.bookings.c.service, t.bookings.c.applicant)
                                      .where(t.bookings.c.centre_id == centre_id,
                                             t.bookings.c.booking_id == booking_id))).first()
            reason = (await conn.execute(sa.select(t.decisions.c.reason).where(
                t.decisions.c.centre_id == centre_id,
                t.decisions.c.booking_id == booking_id))).scalar()
        if row is None:
            return "", None, reason or ""
        return row.service, applicant_of(row.applicant), reason or ""

    async def centre(self, centre_id: str) -> Centre | None:
        async with self.engine.connect() as conn:
            info = (await conn.execute(sa.select(t.centres.c.info)
                                       .where(t.centres.c.centre_id == centre_id))).scalar()
        return centre_of(centre_id, info) if info else None

    async def case(self, centre_id: str, booking_id: str) -> Case | None:
        """The booking's case, or None when it has no standing decision (not displaced)."""
        async with self.engine.connect() as conn:
            info = (await conn.execute(sa.select(t.centres.c.info)
                                       .where(t.centres.c.centre_id == centre_id))).scalar()
            booking = (await conn.execute(sa.select(t.bookings).where(
                t.bookings.c.centre_id == centre_id,
                t.bookings.c.booking_id == booking_id))).first()
            if info is None or booking is None:
                return None
            members = [booking]
            if booking.group_id is not None:
                members = list((await conn.execute(sa.select(t.bookings).where(
                    t.bookings.c.centre_id == centre_id,
                    t.bookings.c.group_id == booking.group_id))).all())
            decisions = {r.booking_id: r for r in (await conn.execute(
                sa.select(t.decisions).where(
                    t.decisions.c.centre_id == centre_id,
                    t.decisions.c.booking_id.in_([m.booking_id for m in members])))).all()}
            records = [json.loads(r) for r in (await conn.execute(
                sa.select(t.outages.c.record).where(t.outages.c.centre_id == centre_id)
            )).scalars()]
            record = await _outage(conn, centre_id, decisions.get(booking_id))
        family = tuple(fam.Member(m.booking_id, m.service, when(m.slot_start),
                                  m.status == "active" and m.slot_start is not None,
                                  _standing(decisions.get(m.booking_id))) for m in members)
        me = next(m for m in family if m.booking_id == booking_id)
        if me.standing is None or me.slot_start is None:
            return None
        notice = record.get("notice_min") if record else None
        return Case(centre_of(centre_id, info), me, booking.service,
                    applicant_of(booking.applicant), family,
                    notice if isinstance(notice, int) else self.default_notice_min,
                    tuple(fam.closures(records)), fam.outage_clock(record))

    def movers(self, case: Case) -> choice.Movers:
        return fam.movers(case.booking.booking_id, case.family, case.notice_min, self.policy,
                          case.centre.tz)

    async def _slots(self, case: Case, movers: choice.Movers, now: dt.datetime,
                     only: dt.datetime | None = None) -> list[choice.SlotView]:
        """The service's slots where the family could go, with the places left in each."""
        earliest = now + dt.timedelta(minutes=movers.notice_min)
        latest = max(movers.starts) + dt.timedelta(days=movers.horizon_days)
        s, b = t.slots.c, t.bookings.c
        window = (s.start == utc_iso(only) if only is not None
                  else sa.and_(s.start >= utc_iso(earliest), s.start <= utc_iso(latest)))
        async with self.engine.connect() as conn:
            slots = (await conn.execute(sa.select(s.start, s.duration_min, s.capacity).where(
                s.centre_id == case.centre.centre_id, s.service == movers.service, window)
            )).all()
            if not slots:
                return []
            counted = (await conn.execute(
                sa.select(b.slot_start, sa.func.count()).where(
                    b.centre_id == case.centre.centre_id, b.service == movers.service,
                    b.status == "active", b.slot_start.in_([r.start for r in slots]))
                .group_by(b.slot_start))).all()
        occupied = {dt.datetime.fromisoformat(start): n for start, n in counted}
        rows = [fam.SlotRow(dt.datetime.fromisoformat(r.start), r.duration_min, r.capacity)
                for r in slots]
        return fam.slot_views(rows, occupied, movers)

    async def allowed(self, case: Case, now: dt.datetime, limit: int) -> list[choice.SlotView]:
        """Up to `limit` slots the family may move into now, nearest its original slot."""
        movers, at = self.movers(case), case.clock(now)
        slots = await self._slots(case, movers, at)
        return choice.alternatives(movers, slots, case.closures, at, limit)

    async def refusal(self, case: Case, slot_start: dt.datetime, now: dt.datetime) -> str | None:
        """Why the family may not move into the slot starting at `slot_start` now; None if
        it may. A start that is no slot of the service is refused too."""
        movers, at = self.movers(case), case.clock(now)
        found = await self._slots(case, movers, at, only=slot_start)
        if not found:
            return "no such slot is open for this service"
        return choice.refusal(movers, found[0], case.closures, at)


async def _outage(conn: AsyncConnection, centre_id: str,
                  decision: sa.Row[tuple[object, ...]] | None) -> dict[str, object] | None:
    """The record of the outage behind the decision: its notice is the least an applicant
    is given, counted from its clock."""
    if decision is None:
        return None
    record = (await conn.execute(sa.select(t.outages.c.record).where(
        t.outages.c.centre_id == centre_id,
        t.outages.c.outage_id == decision._mapping["outage_id"]))).scalar()
    found: dict[str, object] | None = json.loads(record) if record else None
    return found
