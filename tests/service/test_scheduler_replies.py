"""Service layer: replies and the timeout tick through the parts `create_app` wires (records
handed to a lane's applier as the fetch loop does; the real SQLite store)."""

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from schemas.topics import Topic
from services.common.ids import derived_id
from services.scheduler.app import SchedulerApp
from services.scheduler.parsing import InputRecord, Origin
from services.scheduler.store import tables as t
from tests.builders import CENTRE, at, booking, centre, line, outage, slots
from tests.service.test_scheduler_handler import ELSEWHERE, OWNER, _app, apply


def record(topic: str, partition: int, offset: int, value: str,
           headers: tuple[tuple[str, bytes], ...] = ()) -> InputRecord:
    return InputRecord(topic, partition, offset, CENTRE.encode(), value.encode(),
                       1_764_000_000_000, headers)


async def offered(app: SchedulerApp) -> str:
    """A centre whose outage moved b1: its offer id."""
    for topic in (Topic.CENTRES, Topic.CAPACITY, Topic.BOOKINGS, Topic.OUTAGES_BY_CENTRE,
                  Topic.REPLIES, Topic.INPUTS_BY_CENTRE):
        app.positions.applied[(str(topic), OWNER)] = -1
    app.positions.applied[(str(Topic.REPLIES), ELSEWHERE)] = -1
    declared = line("visa.outage.declared.v1", outage("o1", at(3, 13), at(3, 19)),
                    subject=CENTRE)
    origin = Origin(Topic.OUTAGES_BY_CENTRE, Topic.OUTAGES, 0, 0)
    await apply(app, [
        record(Topic.CENTRES, OWNER, 0, line("visa.centre.registered.v1", centre())),
        record(Topic.CAPACITY, OWNER, 0, line("visa.slots.published.v1",
                                              slots([at(3, 16), at(4, 9)], capacity=1))),
        record(Topic.BOOKINGS, OWNER, 0, line("visa.booking.created.v1",
                                              booking("b1", at(3, 16))))])
    await apply(app, [record(Topic.OUTAGES_BY_CENTRE, OWNER, 0, declared, (origin.header(),))])
    await app.writes.settle()
    state = (await app.store.load_centres([CENTRE]))[CENTRE]
    return state.replies.offers["b1"].offer_id


async def test_a_reply_read_on_another_partition_is_forwarded_then_folded(
        tmp_path: Path) -> None:
    app = await _app(tmp_path)
    offer_id = await offered(app)
    confirm = line("visa.offer.confirmed.v1", {"offer_id": offer_id, "booking_id": "b1",
                                               "centre_id": CENTRE, "channel": "sms"}, eid="r1")
    await apply(app, [record(Topic.REPLIES, ELSEWHERE, 0, confirm)])
    await app.writes.settle()
    rows = await app.store.outbox_batch(None, 100)
    [forward] = [r for r in rows if r.topic == Topic.INPUTS_BY_CENTRE]
    assert forward.to_partition == OWNER
    assert (await app.store.load_centres([CENTRE]))[CENTRE].replies.offers["b1"].state == "open"
    await apply(app, [record(Topic.INPUTS_BY_CENTRE, OWNER, 0, confirm, forward.headers)])
    await app.writes.settle()
    offer = (await app.store.load_centres([CENTRE]))[CENTRE].replies.offers["b1"]
    assert (offer.state, offer.channel) == ("confirmed", "sms")
    async with app.store.engine.connect() as conn:
        outcomes = (await conn.execute(sa.select(t.reply_outcomes))).all()
    assert [(o.event_id, o.outcome) for o in outcomes] == [("r1", "accepted")]
    await app.store.close()


async def test_the_tick_answers_an_offer_past_reply_by_once(tmp_path: Path) -> None:
    app = await _app(tmp_path)
    offer_id = await offered(app)
    lane = app.consumption.lane_of(OWNER)
    reply_by = (await app.store.load_centres([CENTRE]))[CENTRE].replies.offers["b1"].reply_by
    assert reply_by is not None
    assert await lane.applier.tick(reply_by - dt.timedelta(seconds=1)) == 0
    assert await lane.applier.tick(reply_by + dt.timedelta(minutes=5)) == 1
    await app.writes.settle()
    assert await lane.applier.tick(reply_by + dt.timedelta(minutes=6)) == 0  # marked in cache
    app.writes.forget()  # as after a restart: known from the store
    assert await lane.applier.tick(reply_by + dt.timedelta(days=3)) == 0
    rows = [r for r in await app.store.outbox_batch(None, 100) if r.topic == Topic.REPLIES]
    [row] = rows
    event = json.loads(row.value)
    assert (row.key, event["id"], event["data"]["channel"]) == (
        CENTRE, derived_id("timeout", offer_id), "timeout")
    assert dt.datetime.fromisoformat(event["time"]) == reply_by + dt.timedelta(minutes=5)
    offer = (await app.store.load_centres([CENTRE]))[CENTRE].replies.offers["b1"]
    assert offer.timeout_at == reply_by + dt.timedelta(minutes=5)
    assert offer.state == "open"  # until the answer is read back and folded
    other = app.consumption.lane_of(ELSEWHERE)
    assert await other.applier.tick(reply_by + dt.timedelta(days=9)) == 0  # not its centre
    await app.store.close()
