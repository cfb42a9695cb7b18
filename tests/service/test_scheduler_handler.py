"""Service layer: the parts `create_app` wires, driven with fetched records (no network).

The app is built by its composition root exactly as `reslot scheduler` builds it; records
are handed to its applier as the fetch loop hands them over, and the real store (SQLite)
shows what was applied, forwarded and dead-lettered.
"""

from pathlib import Path

from schemas.topics import Topic
from services.common.settings import KafkaSettings, Settings
from services.scheduler.app import SchedulerApp, create_app
from services.scheduler.ownership import Ownership
from services.scheduler.parsing import InputRecord, Origin, origin_of
from tests.builders import CENTRE, at, booking, centre, line

PARTITIONS = 6
OWNER = Ownership(PARTITIONS).partition_of(CENTRE)
ELSEWHERE = (OWNER + 1) % PARTITIONS


async def _app(tmp_path: Path) -> SchedulerApp:
    settings = Settings(kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
                        database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
                        partitions=PARTITIONS)
    app = create_app(settings)
    await app.store.create_tables()
    app.positions.epochs = await app.store.claim(range(PARTITIONS))
    return app


async def apply(app: SchedulerApp, records: list[InputRecord]) -> int:
    """As the fetch loop hands records over: to the lane of their partition."""
    return await app.consumption.lane_of(records[0].partition).applier.apply(records)


def _record(topic: str, partition: int, offset: int, value: bytes) -> InputRecord:
    return InputRecord(topic, partition, offset, CENTRE.encode(), value, 1_764_000_000_000)


async def test_a_batch_is_applied_and_garbage_dead_lettered(tmp_path: Path) -> None:
    app = await _app(tmp_path)
    for topic in (Topic.CENTRES, Topic.BOOKINGS):  # as after an assignment: nothing applied
        app.positions.applied[(str(topic), OWNER)] = -1
    admitted = await apply(app, [
        _record(Topic.CENTRES, OWNER, 0, line("visa.centre.registered.v1", centre()).encode()),
        _record(Topic.BOOKINGS, OWNER, 0, b"{garbage"),
        _record(Topic.BOOKINGS, OWNER, 1,
                line("visa.booking.created.v1", booking("b1", at(3, 9))).encode()),
    ])
    await app.writes.settle()  # the applier returns while the batch is written
    assert admitted == 3
    state = (await app.store.load_centres([CENTRE]))[CENTRE]
    assert state.info is not None
    assert list(state.bookings) == ["b1"]
    rows = await app.store.outbox_batch(None, 10)
    assert [r.topic for r in rows] == ["visa.deadletter.v1"]
    assert await app.store.stored_offsets([("visa.bookings.v1", OWNER)]) == {
        ("visa.bookings.v1", OWNER): 1}
    await app.store.close()


async def test_records_already_applied_are_skipped(tmp_path: Path) -> None:
    app = await _app(tmp_path)
    app.positions.applied[(str(Topic.BOOKINGS), OWNER)] = 0  # offset 0 is already stored
    value = line("visa.booking.created.v1", booking("b1", at(3, 9))).encode()
    admitted = await apply(app, [_record(Topic.BOOKINGS, OWNER, 0, value)])
    await app.writes.settle()
    assert admitted == 0
    assert (await app.store.load_centres([CENTRE]))[CENTRE].bookings == {}
    await app.store.close()


async def test_a_record_on_another_partition_is_forwarded_not_applied(tmp_path: Path) -> None:
    app = await _app(tmp_path)
    app.positions.applied[(str(Topic.BOOKINGS), ELSEWHERE)] = -1
    value = line("visa.booking.created.v1", booking("b1", at(3, 9))).encode()
    await apply(app, [_record(Topic.BOOKINGS, ELSEWHERE, 0, value)])
    await app.writes.settle()
    assert (await app.store.load_centres([CENTRE]))[CENTRE].bookings == {}
    [row] = await app.store.outbox_batch(None, 10)
    assert (row.topic, row.key, row.value, row.to_partition) == (
        Topic.INPUTS_BY_CENTRE, CENTRE, value, OWNER)
    origin = origin_of(row.headers)
    assert origin is not None
    assert (origin.input_topic, origin.topic, origin.partition, origin.offset) == (
        Topic.BOOKINGS, Topic.BOOKINGS, ELSEWHERE, 0)
    # its offset is stored with the forward: read again, it is not forwarded twice
    assert await app.store.stored_offsets([("visa.bookings.v1", ELSEWHERE)]) == {
        ("visa.bookings.v1", ELSEWHERE): 0}
    await app.store.close()


async def test_a_forward_published_twice_is_applied_once(tmp_path: Path) -> None:
    """The relay crashed between publishing and deleting: the owner reads the created
    booking again after its cancellation, and must not bring it back."""
    app = await _app(tmp_path)
    app.positions.applied[(str(Topic.INPUTS_BY_CENTRE), OWNER)] = -1
    created = line("visa.booking.created.v1", booking("b1", at(3, 9))).encode()
    cancelled = line("visa.booking.cancelled.v1",
                     {"booking_id": "b1", "centre_id": CENTRE}).encode()

    def forwarded(offset: int, value: bytes, origin_offset: int) -> InputRecord:
        origin = Origin(Topic.BOOKINGS, Topic.BOOKINGS, ELSEWHERE, origin_offset)
        return InputRecord(Topic.INPUTS_BY_CENTRE, OWNER, offset, CENTRE.encode(), value,
                           1_764_000_000_000, (origin.header(),))

    await apply(app, [forwarded(0, created, 10), forwarded(1, cancelled, 11)])
    await app.writes.settle()
    app.writes.forget()  # what is skipped must be known from the store, not the cache
    await apply(app, [forwarded(2, created, 10), forwarded(3, cancelled, 11)])
    await app.writes.settle()
    state = (await app.store.load_centres([CENTRE]))[CENTRE]
    assert state.bookings["b1"].status == "cancelled"
    assert app.metrics.duplicates.labels(Topic.INPUTS_BY_CENTRE)._value.get() == 2
    assert await app.store.stored_offsets([(Topic.INPUTS_BY_CENTRE, OWNER)]) == {
        (Topic.INPUTS_BY_CENTRE, OWNER): 3}
    await app.store.close()


async def test_the_waiting_gauge_has_a_series_per_centre_that_exists_not_per_id_named(
        tmp_path: Path) -> None:
    """A cancel naming a centre nobody registered made a series of reslot_waiting that was
    never removed: one producer could make as many as it liked."""
    app = await _app(tmp_path)
    app.positions.applied[(str(Topic.BOOKINGS), OWNER)] = -1
    app.positions.applied[(str(Topic.CENTRES), OWNER)] = -1
    junk = [_record(Topic.BOOKINGS, OWNER, n, line(
        "visa.booking.cancelled.v1", {"booking_id": "b1", "centre_id": CENTRE},
        eid=f"junk-{n}").encode()) for n in range(3)]
    await apply(app, junk)
    await app.writes.settle()
    assert _waiting_series(app) == {}
    await apply(app, [_record(Topic.CENTRES, OWNER, 0,
                              line("visa.centre.registered.v1", centre()).encode())])
    await app.writes.settle()
    assert _waiting_series(app) == {(CENTRE,): 0.0}
    await app.store.close()


def _waiting_series(app: SchedulerApp) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.values()): s.value for m in app.metrics.registry.collect()
            for s in m.samples if s.name == "reslot_waiting"}
