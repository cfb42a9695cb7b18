"""The store of the previous version (status events marked `reported` on the deliveries, no
outbox) brought up to date when the notifier opens it: the status of every decided row not
yet reported goes to the outbox, nothing else; rows being sent carry on."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.domain.status import status_event_id
from services.notifier.store import DeliveryStore

AT = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)

PREVIOUS = """CREATE TABLE notifier_deliveries (
    notification_id VARCHAR(200) NOT NULL, channel VARCHAR(8) NOT NULL,
    state VARCHAR(16) NOT NULL, booking_id VARCHAR(200) NOT NULL,
    centre_id VARCHAR(100) NOT NULL, request TEXT, attempts INTEGER NOT NULL, error TEXT,
    not_before {ts} NOT NULL, owner VARCHAR(200), lease_until {ts},
    reported BOOLEAN NOT NULL, created_at {ts} NOT NULL, updated_at {ts} NOT NULL,
    finished_at {ts}, PRIMARY KEY (notification_id, channel))"""
INDEXES = ("CREATE INDEX ix_notifier_deliveries_due ON notifier_deliveries (state, not_before)",
           "CREATE INDEX ix_notifier_deliveries_reported ON notifier_deliveries "
           "(reported, finished_at)")
ROW = ("INSERT INTO notifier_deliveries VALUES (:id, :channel, :state, 'BK-1', 'capago-alger', "
       ":request, :attempts, :error, :at, :owner, NULL, :reported, :at, :at, :finished)")


async def test_a_store_of_the_previous_version_is_brought_up_to_date(store_url: str) -> None:
    engine = create_async_engine(store_url)
    sqlite = engine.dialect.name == "sqlite"  # as the previous version's tables had them:

    def ts(seconds: int) -> object:  # SQLite: naive UTC text; PostgreSQL: timestamptz
        at = AT + dt.timedelta(seconds=seconds)
        return at.replace(tzinfo=None).isoformat(" ") if sqlite else at

    rows = [
        {"id": "n-1", "channel": "email", "state": "delivered", "request": None, "attempts": 1,
         "error": None, "owner": None, "reported": True, "finished": ts(1)},
        {"id": "n-1", "channel": "sms", "state": "failed", "request": None, "attempts": 2,
         "error": "http 400", "owner": None, "reported": False,
         "finished": ts(2)},
        {"id": "n-2", "channel": "email", "state": "sending", "request": "{}", "attempts": 0,
         "error": None, "owner": "old", "reported": False, "finished": None},
    ]
    async with engine.begin() as conn:
        await conn.execute(sa.text(PREVIOUS.format(
            ts="DATETIME" if sqlite else "TIMESTAMP WITH TIME ZONE")))
        for index in INDEXES:
            await conn.execute(sa.text(index))
        for values in rows:
            await conn.execute(sa.text(ROW), {**values, "at": ts(0)})
    await engine.dispose()

    store = await DeliveryStore.connect(store_url)
    try:
        relayed = await store.outbox_batch("any-instance", AT, 30.0, 100)
        stored = {r.key: r for r in await store.all_rows()}
    finally:
        await store.close()
    again = await DeliveryStore.connect(store_url)  # opening it again changes nothing
    try:
        assert await again.outbox_backlog() == 1
    finally:
        await again.close()

    sms = DeliveryKey("n-1", "sms")
    assert [(r.notification_id, r.channel, r.event_id) for r in relayed] == [
        ("n-1", "sms", status_event_id(sms, "failed"))]  # the reported e-mail is not again
    assert b'"error":"http 400"' in relayed[0].value
    assert stored[DeliveryKey("n-2", "email")].state is DeliveryState.SENDING
    assert not stored[DeliveryKey("n-2", "email")].in_flight
