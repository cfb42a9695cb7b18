"""The scheduler's store on SQLite and on real PostgreSQL: one transaction, read back whole."""

import datetime as dt

import pytest

from services.scheduler.domain.fold import apply
from services.scheduler.domain.routing import Route
from services.scheduler.domain.state import CentreState, Decision
from services.scheduler.store.bulk import Bulk
from services.scheduler.store.sql import BatchRows, Fenced, OutboxRow, SchedulerStore, batch_rows
from tests.builders import CENTRE, at, booking, centre, ev, outage, slots
from tests.conftest import new_database


async def test_state_offsets_and_outbox_round_trip(store_url: str) -> None:
    store = await SchedulerStore.open(store_url)
    state = CentreState(CENTRE)
    for e in (ev("visa.centre.registered.v1", centre()),
              ev("visa.slots.published.v1", slots([at(3, 9), at(3, 16)], capacity=1)),
              ev("visa.booking.created.v1", booking("b1", at(3, 16), group_id="f",
                                                     travel_date="2025-12-30")),
              ev("visa.booking.created.v1", booking("b2", at(3, 16))),
              ev("visa.outage.declared.v1", outage("o1", at(3, 15), at(3, 19)))):
        apply(state, e)
    state.decisions["b2"] = Decision("o1", "p1", "unplaced", at(3, 16).astimezone(dt.UTC),
                                     "no_capacity_in_horizon")
    state.dirty_decisions.add("b2")
    key = ("short_stay", at(3, 16).astimezone(dt.UTC))
    state.conflicts[key] = (1, 2)
    state.dirty_conflicts.add(key)
    await store.commit([state], {"o1": Route(("capago-alger",))},
                       {("visa.bookings.v1", 3): 41},
                       [OutboxRow(3, "visa.reschedules.v1", CENTRE, b"{}")])
    loaded = (await store.load_centres([CENTRE]))[CENTRE]
    assert loaded.info == state.info
    assert loaded.slots == state.slots
    assert loaded.bookings == state.bookings
    assert loaded.outages == state.outages
    assert loaded.decisions == state.decisions
    assert loaded.conflicts == {key: (1, 2)}
    assert loaded.occupancy[key] == 2
    assert await store.stored_offsets([("visa.bookings.v1", 3)]) == {("visa.bookings.v1", 3): 41}
    assert (await store.load_routes(["o1"]))["o1"].centres == ("capago-alger",)
    rows = await store.outbox_batch({3}, 10)
    assert [r.topic for r in rows] == ["visa.reschedules.v1"]
    assert await store.outbox_batch({4}, 10) == []
    await store.outbox_delete([r.seq for r in rows])
    assert await store.outbox_backlog() == 0
    await store.close()


async def test_the_relay_deletes_exactly_the_rows_it_published(store_url: str) -> None:
    """Rows of two partitions interleaved: deleting one partition's rows (several runs of
    sequence numbers, as an instance sharing the store publishes) leaves the other's."""
    store = await SchedulerStore.open(store_url)
    await store.commit([], {}, {}, [OutboxRow(i % 2 if i < 300 else 0, "visa.reschedules.v1",
                                              CENTRE, f"{i}".encode()) for i in range(700)])
    mine = await store.outbox_batch({1}, 1000)
    assert len(mine) == 150
    await store.outbox_delete([r.seq for r in mine])
    left = await store.outbox_batch(None, 1000)
    assert [int(r.value) for r in left] == [i for i in range(700) if i >= 300 or i % 2 == 0]
    await store.outbox_delete([r.seq for r in left[:400]])
    assert [int(r.value) for r in await store.outbox_batch(None, 1000)] == \
        [int(r.value) for r in left[400:]]
    await store.close()


async def test_a_failed_transaction_stores_nothing(store_url: str) -> None:
    store = await SchedulerStore.open(store_url)
    state = CentreState(CENTRE)
    apply(state, ev("visa.booking.created.v1", booking("b1", at(3, 9))))
    bad = [OutboxRow(0, "t", "k", None)]  # type: ignore[arg-type]  # NOT NULL violated
    with pytest.raises(Exception, match=r"(?i)null"):
        await store.commit([state], {}, {("visa.bookings.v1", 0): 7}, bad)
    assert await store.stored_offsets([("visa.bookings.v1", 0)]) == {}
    assert (await store.load_centres([CENTRE]))[CENTRE].bookings == {}
    await store.close()


async def test_bulk_writes_keep_order_update_rows_and_let_the_last_row_of_a_key_win(
        store_url: str) -> None:
    """Many rows in few statements (bulk.py): chunked on SQLite (a tiny variable limit here
    forces many chunks), unnests of a few rows each on PostgreSQL; same outcome as row by
    row."""
    store = await SchedulerStore.open(store_url)
    store._bulk = Bulk(store.engine.dialect, max_variables=20, pg_rows=4)
    outbox = [OutboxRow(n % 2, "visa.reschedules.v1", f"k{n}", f"{n}".encode(),
                        (("traceparent", f"t{n}".encode()),) if n % 3 == 0 else ())
              for n in range(25)]
    offsets = [("visa.bookings.v1", p, 10 * p) for p in range(12)]
    await store.write(BatchRows({"input_offsets": offsets}, [], batch_rows([], {}, {}, outbox)
                                .outbox))
    stored = await store.outbox_batch(None, 100)
    assert [r.value for r in stored] == [f"{n}".encode() for n in range(25)]  # in order
    assert [r.seq for r in stored] == sorted(r.seq for r in stored)
    assert stored[3].headers == (("traceparent", b"t3"),)
    assert stored[4].headers == ()
    # The same key twice in one write, and a key already stored: the last row wins.
    again = [("visa.bookings.v1", 0, 5), ("visa.bookings.v1", 1, 7), ("visa.bookings.v1", 1, 8)]
    await store.write(BatchRows({"input_offsets": again}, [], []))
    wanted = [("visa.bookings.v1", p) for p in range(12)]
    assert await store.stored_offsets(wanted) == {
        **{("visa.bookings.v1", p): 10 * p for p in range(12)},
        ("visa.bookings.v1", 0): 5, ("visa.bookings.v1", 1): 8}
    await store.close()


async def test_a_value_too_long_for_its_column_is_refused_not_cut(postgres_url: str) -> None:
    """PostgreSQL's arrays travel as text[]: a cast to varchar(100)[] would cut a 101-char
    centre id to 100 silently; assigned to the column, it is refused. (SQLite has no
    lengths; parsing refuses such ids before they reach the store.)"""
    async with new_database(postgres_url) as url:
        await _too_long_is_refused(url)


async def _too_long_is_refused(url: str) -> None:
    store = await SchedulerStore.open(url)
    row = ("c" * 101, "b1", "active", "short_stay", None, None, "standard", None, None)
    with pytest.raises(Exception, match=r"(?i)too long"):
        await store.write(BatchRows({"bookings": [row]}, [], []))
    assert (await store.load_centres(["c" * 100]))["c" * 100].bookings == {}
    await store.close()


async def test_a_write_under_an_older_epoch_is_refused(store_url: str) -> None:
    """Fencing: B claims partition 3 after A did; A's next batch (A paused past its session,
    say) is refused whole, B's goes through, and nothing of A's is stored."""
    a, b = await SchedulerStore.open(store_url), await SchedulerStore.open(store_url)
    a_epochs = await a.claim([3, 4])
    b_epochs = await b.claim([3])
    assert b_epochs[3] > a_epochs[3]
    state = CentreState(CENTRE)
    apply(state, ev("visa.booking.created.v1", booking("from-a", at(3, 9))))
    rows = batch_rows([state], {}, {("visa.bookings.v1", 3): 7}, [], fence=a_epochs)
    with pytest.raises(Fenced) as refused:
        await a.write(rows)
    assert refused.value.partitions == [3]
    assert await a.stored_offsets([("visa.bookings.v1", 3)]) == {}
    assert (await a.load_centres([CENTRE]))[CENTRE].bookings == {}
    await b.write(batch_rows([], {}, {("visa.bookings.v1", 3): 7}, [], fence=b_epochs))
    await a.write(batch_rows([], {}, {("visa.bookings.v1", 4): 1}, [], fence={4: a_epochs[4]}))
    assert await a.stored_offsets([("visa.bookings.v1", 3), ("visa.bookings.v1", 4)]) == {
        ("visa.bookings.v1", 3): 7, ("visa.bookings.v1", 4): 1}
    await a.close()
    await b.close()
