"""How the store reaches its database: one transaction per call, written once as a plain
function of a connection and run

- on SQLite, whole in one worker thread that owns the connection: one hand-off between the
  event loop and the thread per transaction (aiosqlite makes four per statement, and each
  costs the event loop about as much as the statement itself);
- on PostgreSQL, on the event loop through asyncpg (`AsyncConnection.run_sync`).

Also the schema: created on open, and stores of an earlier version brought up to date.
"""

import asyncio
import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from services.notifier.domain.model import DeliveryState
from services.notifier.store.rows import row_of, write_statuses
from services.notifier.store.tables import deliveries, metadata

T = TypeVar("T")


class Runner(Protocol):
    async def run(self, work: Callable[[Connection], T]) -> T: ...

    async def close(self) -> None: ...


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")  # a claim survives a power cut, not only a crash
    cursor.close()


class InThread:
    """SQLite: each transaction runs whole in the one thread that owns the connection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notifier-store")

    async def run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._transaction, work
        )

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        with self._engine.begin() as conn:
            return work(conn)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)


class OnLoop:
    """PostgreSQL (asyncpg): each transaction on the event loop, awaiting the server."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(self, work: Callable[[Connection], T]) -> T:
        async with self._engine.begin() as conn:
            return await conn.run_sync(work)

    async def close(self) -> None:
        await self._engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url).set(drivername="sqlite+pysqlite")
    database = parsed.database or ""
    # hide_parameters: SQL errors are logged, and parameters hold personal data.
    if database in ("", ":memory:"):
        engine = create_engine(parsed, poolclass=StaticPool,
                               connect_args={"check_same_thread": False}, hide_parameters=True)
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # One connection, used by one thread: SQLite has one writer anyway.
        engine = create_engine(parsed, pool_size=1, max_overflow=0, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def runner_for(url: str) -> tuple[Runner, str]:
    """The runner of `url`'s database and its dialect; nothing connects yet."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return InThread(_sqlite_engine(url)), backend
    if backend == "postgresql":
        return OnLoop(create_async_engine(url, pool_pre_ping=True, hide_parameters=True)), backend
    raise NotImplementedError(f"notifier store on {backend}: use SQLite or PostgreSQL")


# Held while creating the tables: two instances starting on an empty PostgreSQL database
# would otherwise both CREATE TABLE, and one fail on a unique violation in pg_type.
_SCHEMA_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('reslot-notifier-schema'))")
# Status events left by a store of the previous version: relayed by whichever instance opens
# it first (as if their writer had died long ago).
_MIGRATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def create_schema(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":  # instances starting together: one creates
        conn.execute(_SCHEMA_LOCK)
    metadata.create_all(conn)
    columns = {c["name"] for c in inspect(conn).get_columns(deliveries.name)}
    if "in_flight" not in columns:
        conn.execute(text(f"ALTER TABLE {deliveries.name} "
                          "ADD COLUMN in_flight BOOLEAN NOT NULL DEFAULT FALSE"))
    if "reported" in columns:
        _outbox_the_unreported(conn)


def _outbox_the_unreported(conn: Connection) -> None:
    """The previous version marked rows `reported` once their status was published: the
    status of rows still unmarked goes to the outbox, and the column goes."""
    sending = DeliveryState.SENDING.value
    unreported = conn.execute(select(deliveries).where(
        text("reported = false"), deliveries.c.state != sending))
    write_statuses(conn, map(row_of, unreported), "migration", _MIGRATED)
    conn.execute(text("DROP INDEX IF EXISTS ix_notifier_deliveries_reported"))
    conn.execute(text(f"ALTER TABLE {deliveries.name} DROP COLUMN reported"))
