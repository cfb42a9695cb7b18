"""Offers and what was answered, in the store (SQLite, then PostgreSQL): written with the
centre's state, loaded back equal, deleted when they no longer stand, found when due."""

import dataclasses
import datetime as dt
import json

import sqlalchemy as sa

from services.scheduler.store import tables as t
from services.scheduler.store.sql import SchedulerStore
from tests.builders import CENTRE, at, ev
from tests.unit.replying import REPLY_TIME, of_type, offered, ops, reply, run
from tests.unit.test_review_and_ops import REVIEW

TWO = (("b1", at(3, 16)), ("b2", at(3, 17)))


async def test_offers_outcomes_and_held_messages_round_trip(store_url: str) -> None:
    held, out = offered(*TWO, ("b3", at(3, 18)), free=[at(4, 9), at(4, 10), at(4, 11)],
                        config=REVIEW)
    plan_id = of_type(out, "visa.plan.completed.v1")[0].data.plan_id
    store = await SchedulerStore.open(store_url)
    try:
        await store.commit([held], {}, {}, [], [])
        loaded = (await store.load_centres([CENTRE]))[CENTRE]
        assert loaded.replies.offers == held.replies.offers
        assert loaded.replies.held == held.replies.held
        assert set(loaded.replies.held_plans) == set()  # the summary is written with plans

        summary = dataclasses.replace(held.replies.held_plans[plan_id])
        await store.commit([held], {}, {}, [], [summary])
        loaded = (await store.load_centres([CENTRE]))[CENTRE]
        assert loaded.replies.held_plans == {plan_id: summary}

        run(held, ops("plan.approved", "a1", plan_id=plan_id), config=REVIEW)
        run(held, reply("confirmed", held, "b1", "r1"),
            reply("declined", held, "b2", "r2", wants="call_me"),
            reply("confirmed", held, "b2", "r3"),
            ops("call.logged", "c1", booking_id="b2", outcome="no_answer"),
            ev("visa.booking.cancelled.v1", {"booking_id": "b3", "centre_id": CENTRE}),
            config=REVIEW)
        await store.commit([held], {}, {}, [])
        loaded = (await store.load_centres([CENTRE]))[CENTRE]
        assert loaded.replies.offers == held.replies.offers
        assert sorted(loaded.replies.offers) == ["b1", "b2"]  # b3's was deleted
        assert loaded.replies.held == {}
        assert loaded.replies.held_plans == {}
        assert set(loaded.replies.folded) == {"a1", "r1", "r2", "r3", "c1"}
        recent = await store.load_centres([CENTRE], folded_since=REPLY_TIME + dt.timedelta(1))
        assert recent[CENTRE].replies.folded == {}  # older than the dedupe window: not loaded
        assert recent[CENTRE].replies.offers == held.replies.offers  # the rest all is
        assert loaded.decisions == held.decisions
        async with store.engine.connect() as conn:
            outcomes = {r.event_id: (r.offer_id, r.outcome, r.reason) for r in
                        await conn.execute(sa.select(t.reply_outcomes))}
            calls = [(r.booking_id, r.event_id, r.by, r.outcome) for r in
                     await conn.execute(sa.select(t.call_log))]
            (stored,) = (await conn.execute(sa.select(t.plans.c.summary))).scalars()
            decided = (await conn.execute(sa.select(t.decisions.c.decided_at))).scalars().all()
        b2 = held.replies.offers["b2"].offer_id
        assert outcomes["r3"] == (b2, "refused", "already_answered")
        assert outcomes["a1"] == (plan_id, "accepted", "")
        assert calls == [("b2", "c1", "ops@capago", "no_answer")]
        assert (json.loads(stored)["held"], json.loads(stored)["approved_by"]) == (
            False, "ops@capago")
        assert set(decided) == {"2025-11-25T09:00:00+00:00"}
    finally:
        await store.close()


async def test_centres_with_offers_past_reply_by_are_found(store_url: str) -> None:
    state, _ = offered(*TWO)
    store = await SchedulerStore.open(store_url)
    try:
        await store.commit([state], {}, {}, [])
        reply_by = state.replies.offers["b1"].reply_by
        assert reply_by is not None
        assert await store.due_centres(reply_by - dt.timedelta(minutes=1)) == set()
        assert await store.due_centres(reply_by) == {CENTRE}
        run(state, reply("confirmed", state, "b1", "r1"),
            reply("declined", state, "b2", "r2", wants="call_me"))
        await store.commit([state], {}, {}, [])
        assert await store.due_centres(reply_by + dt.timedelta(days=9)) == set()
    finally:
        await store.close()
