"""The v1.1 replies in the store: offers, held messages, outcomes, calls, held plans.

Written with the rest of a batch's state (one transaction: rows here, statements in
sql.py), loaded with a centre, and queried for the offers whose reply_by has passed
(the scheduler's timeout tick). The web front reads the same tables (REPLIES.md).
"""

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.data import NotificationRequested
from services.scheduler.domain.offers import HeldNote, OfferRec
from services.scheduler.domain.state import CentreState, PlanSummary
from services.scheduler.store import tables as t
from services.scheduler.store.bulk import Row
from services.scheduler.store.codec import parse_ts, ts

Deletes = dict[str, list[tuple[Any, ...]]]  # table -> primary keys of rows to delete
_SUMMARY_FIELDS = frozenset(f.name for f in dataclasses.fields(PlanSummary))


def _t(value: dt.datetime | None) -> str | None:
    return ts(value) if value is not None else None


def _p(value: str | None) -> dt.datetime | None:
    return parse_ts(value) if value else None


def offer_row(centre_id: str, booking_id: str, o: OfferRec) -> Row:
    return (centre_id, booking_id, o.offer_id, o.plan_id, o.outage_id, ts(o.from_start),
            ts(o.to_start), _t(o.reply_by), o.state, o.channel, o.wants, _t(o.answered_at),
            o.held, o.phone, o.answer_id, o.answers, _t(o.timeout_at))


def offer_of(r: Any) -> OfferRec:
    return OfferRec(r.offer_id, r.plan_id, r.outage_id, parse_ts(r.from_start),
                    parse_ts(r.to_start), _p(r.reply_by), bool(r.held), r.phone, r.state,
                    r.channel, r.wants, _p(r.answered_at), r.answer_id, r.answers,
                    _p(r.timeout_at))


def summary_row(p: PlanSummary) -> Row:
    return (p.plan_id, p.centre_id, p.outage_id, json.dumps(p.__dict__))


def summary_of(text: str) -> PlanSummary:
    return PlanSummary(**{k: v for k, v in json.loads(text).items() if k in _SUMMARY_FIELDS})


def replies_rows(states: Sequence[CentreState]) -> tuple[dict[str, list[Row]], Deletes]:
    """The rows of what changed in each centre's offers and held messages (upserts and
    deletes), its new outcomes and calls, and the plan summaries approved."""
    rows: dict[str, list[Row]] = {name: [] for name in (
        t.offers.name, t.held_notifications.name, t.reply_outcomes.name, t.call_log.name)}
    deletes: Deletes = {t.offers.name: [], t.held_notifications.name: []}
    approved: list[Row] = []
    for s in states:
        c, replies = s.centre_id, s.replies
        for b in sorted(replies.dirty_offers):
            if b in replies.offers:
                rows[t.offers.name].append(offer_row(c, b, replies.offers[b]))
            else:
                deletes[t.offers.name].append((c, b))
        for b in sorted(replies.dirty_held):
            note = replies.held.get(b)
            if note is not None:
                rows[t.held_notifications.name].append(
                    (c, b, note.plan_id, note.data.model_dump_json()))
            else:
                deletes[t.held_notifications.name].append((c, b))
        rows[t.reply_outcomes.name] += [
            (o.event_id, c, o.subject, o.verdict, o.reason, o.detail, ts(o.at), o.booking_id)
            for o in replies.outcomes]
        rows[t.call_log.name] += [(c, x.booking_id, x.event_id, ts(x.at), x.by, x.outcome,
                                   x.note) for x in replies.calls]
        approved += [summary_row(p) for p in replies.plans]
    rows[t.plans.name] = approved  # appended after the batch's new plans: the last wins
    return rows, deletes


async def load_replies(conn: AsyncConnection, states: dict[str, CentreState],
                       folded_since: dt.datetime | None = None) -> None:
    """Offers, held messages, folded event ids (of events since `folded_since`, if given)
    and held plans of the centres in `states`."""
    ids = sorted(states)
    query = sa.select(t.offers).where(t.offers.c.centre_id.in_(ids))
    for r in await conn.execute(query):
        states[r.centre_id].replies.offers[r.booking_id] = offer_of(r)
    query = sa.select(t.held_notifications).where(t.held_notifications.c.centre_id.in_(ids))
    for r in await conn.execute(query):
        data = NotificationRequested.model_validate_json(r.notification)
        states[r.centre_id].replies.held[r.booking_id] = HeldNote(r.plan_id, data)
    o = t.reply_outcomes.c
    query = sa.select(o.centre_id, o.event_id, o.at).where(o.centre_id.in_(ids))
    if folded_since is not None:  # UTC ISO text (codec.ts): compared as text, in order
        query = query.where(o.at >= ts(folded_since))
    for r in await conn.execute(query):
        states[r.centre_id].replies.folded[r.event_id] = parse_ts(r.at)
    query = sa.select(t.plans.c.centre_id, t.plans.c.summary).where(
        t.plans.c.centre_id.in_(ids), t.plans.c.summary.like('%"held": true%'))
    for r in await conn.execute(query):
        summary = summary_of(r.summary)
        if summary.held:
            states[r.centre_id].replies.held_plans[summary.plan_id] = summary


async def due_centres(conn: AsyncConnection, now: dt.datetime) -> set[str]:
    """Centres with an open offer, not held, past its reply_by and not yet timed out."""
    o = t.offers.c
    query = sa.select(o.centre_id).distinct().where(
        o.state == "open", o.reply_by <= ts(now), o.timeout_at.is_(None), o.held.is_(False))
    return set((await conn.execute(query)).scalars())


async def delete_keys(conn: AsyncConnection, table: sa.Table,
                      keys: Sequence[tuple[Any, ...]]) -> None:
    """Delete the rows of `table` with these primary keys, or whose primary key starts with
    these values (call_log by centre and booking), or, for a table of t.DELETED_BY, these
    values of its columns there, in chunks (bound variables)."""
    if not keys:
        return
    by = t.DELETED_BY.get(table.name) or list(table.primary_key.columns)[:len(keys[0])]
    columns = sa.tuple_(*by)
    for i in range(0, len(keys), 1000):
        await conn.execute(sa.delete(table).where(columns.in_(list(keys[i:i + 1000]))))
