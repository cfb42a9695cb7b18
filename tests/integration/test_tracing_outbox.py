"""The outbox carries each row's trace headers from the transaction to the relay, on SQLite
and PostgreSQL; a store made before the outbox had a headers column gets it at start."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from services.scheduler.store.sql import OutboxRow, SchedulerStore, make_engine

pytestmark = pytest.mark.integration

TRACEPARENT = (("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),)
OLD_OUTBOX = """CREATE TABLE outbox (seq INTEGER PRIMARY KEY {auto}, partition INTEGER NOT NULL,
    topic VARCHAR(200) NOT NULL, key VARCHAR(200) NOT NULL, value {blob} NOT NULL)"""


async def roundtrip(url: str, old_table: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:  # the outbox as it was before trace headers
        await conn.execute(sa.text(old_table))
        await conn.execute(sa.text("INSERT INTO outbox (partition, topic, key, value) "
                                   "VALUES (0, 't', 'k', :v)"), {"v": b"old"})
    await engine.dispose()
    store = await SchedulerStore.open(url)
    try:
        await store.commit([], {}, {}, [OutboxRow(0, "t", "k", b"traced", TRACEPARENT),
                                        OutboxRow(0, "t", "k", b"plain")])
        rows = await store.outbox_batch({0}, 10)
        assert [(r.value, r.headers) for r in rows] == [
            (b"old", ()), (b"traced", TRACEPARENT), (b"plain", ())]
    finally:
        await store.close()
    reopened = await SchedulerStore.open(url)  # the column exists now: nothing to add
    await reopened.close()


async def test_outbox_headers_on_sqlite(tmp_path: Path) -> None:
    await roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}",
                    OLD_OUTBOX.format(auto="AUTOINCREMENT", blob="BLOB"))


async def test_outbox_headers_on_postgres(fresh_postgres: str) -> None:
    await roundtrip(fresh_postgres,
                    OLD_OUTBOX.replace("INTEGER PRIMARY KEY {auto}", "BIGSERIAL PRIMARY KEY")
                    .format(blob="BYTEA"))
