"""SQL at the edge: claims, leases, attempts and outcomes of deliveries (SQLAlchemy 2).

SQLite by default (one connection, WAL), PostgreSQL in production. Every method is one short
transaction, written once as a plain function of a connection and run

- on SQLite, whole in one worker thread that owns the connection: one hand-off between the
  event loop and the thread per transaction (aiosqlite makes four per statement, and each
  costs the event loop about as much as the statement itself);
- on PostgreSQL, on the event loop through asyncpg (`AsyncConnection.run_sync`).

Statements that pick rows by key name a channel and a list of notification ids, which both
databases look up in the primary key, and are built once, not per call.

An instance owns the rows it sends through a lease it renews; rows of an instance that died
are taken over once their lease has run out (at once by the same instance id).
"""

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from services.notifier.domain.model import Channel, DeliveryKey, DeliveryState
from services.notifier.store.tables import UtcDateTime, deliveries, metadata

t = deliveries.c
T = TypeVar("T")

SENDING = DeliveryState.SENDING.value


@dataclass(frozen=True)
class NewDelivery:
    key: DeliveryKey
    booking_id: str
    centre_id: str
    request: str | None  # JSON of the request while it must still be sent
    state: DeliveryState  # sending, or failed when decided at once (no contact, invalid)
    not_before: dt.datetime
    error: str | None = None


@dataclass(frozen=True)
class DeliveryRow:
    key: DeliveryKey
    state: DeliveryState
    booking_id: str
    centre_id: str
    request: str | None
    attempts: int
    error: str | None
    not_before: dt.datetime
    owner: str | None
    lease_until: dt.datetime | None
    reported: bool
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class Claimed:
    row: DeliveryRow
    inserted: bool  # False: the store held it already (a redelivered request)


@dataclass(frozen=True)
class Decision:
    """A delivery decided: delivered, or failed for good with `error`."""

    key: DeliveryKey
    state: DeliveryState
    error: str | None = None


@dataclass(frozen=True)
class Deferral:
    """A delivery to try again not before `not_before` (backoff, quiet hours)."""

    key: DeliveryKey
    not_before: dt.datetime
    error: str | None = None  # None keeps the last error


def _key(r: Any) -> DeliveryKey:
    channel: Channel = "email" if r.channel == "email" else "sms"
    return DeliveryKey(r.notification_id, channel)


def _order(key: DeliveryKey) -> tuple[str, str]:
    """The order of DeliveryKey, as a tuple: compared in C, not by the dataclass's __lt__."""
    return key.notification_id, key.channel


def _row(r: Any) -> DeliveryRow:
    return DeliveryRow(
        key=_key(r),
        state=DeliveryState(r.state),
        booking_id=r.booking_id,
        centre_id=r.centre_id,
        request=r.request,
        attempts=r.attempts,
        error=r.error,
        not_before=r.not_before,
        owner=r.owner,
        lease_until=r.lease_until,
        reported=r.reported,
        finished_at=r.finished_at,
    )


def _row_of_values(key: DeliveryKey, v: dict[str, Any]) -> DeliveryRow:
    return DeliveryRow(
        key=key,
        state=DeliveryState(v["state"]),
        booking_id=v["booking_id"],
        centre_id=v["centre_id"],
        request=v["request"],
        attempts=v["attempts"],
        error=v["error"],
        not_before=v["not_before"],
        owner=v["owner"],
        lease_until=v["lease_until"],
        reported=v["reported"],
        finished_at=v["finished_at"],
    )


# -- statements, built once -------------------------------------------------------------------

_NOW = bindparam("k_now", type_=UtcDateTime())


def _keyed() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Rows of one channel (k_channel) and a list of notification ids (k_ids)."""
    return t.channel == bindparam("k_channel"), t.notification_id.in_(
        bindparam("k_ids", expanding=True)
    )


def _ours() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Still to be sent, by the owner k_owner: what every write of a send checks first.

    `state || ''` is the same test as `state = ...`, but it keeps the planner off the
    (state, not_before) index, which SQLite would otherwise prefer to the primary key and
    then read every row being sent to find the few asked for."""
    return t.state.concat("") == SENDING, t.owner == bindparam("k_owner")


_SELECT = select(deliveries).where(*_keyed())
_REPORT_AGAIN = update(deliveries).where(*_keyed(), t.state != SENDING).values(reported=False)
_COUNT_ATTEMPT = (
    update(deliveries)
    .where(*_keyed(), *_ours())
    .values(attempts=t.attempts + 1, updated_at=_NOW)
    .returning(t.notification_id, t.channel, t.attempts)
)
_DECIDE = (
    update(deliveries)
    .where(*_keyed(), *_ours())
    .values(
        state=bindparam("k_state"),
        error=bindparam("k_error", type_=Text),
        request=None,
        owner=None,
        lease_until=None,
        reported=False,
        updated_at=_NOW,
        finished_at=_NOW,
    )
    .returning(*deliveries.c)  # the request: NULL by now
)
_DEFER = (
    update(deliveries)
    .where(t.channel == bindparam("k_channel"), t.notification_id == bindparam("k_id"), *_ours())
    .values(
        not_before=bindparam("k_not_before", type_=UtcDateTime()),
        error=func.coalesce(bindparam("k_error", type_=Text), t.error),
        updated_at=_NOW,
    )
)
_MARK_REPORTED = update(deliveries).where(*_keyed()).values(reported=True)


def _groups(keys: Iterable[DeliveryKey], size: int = 500) -> list[tuple[Channel, list[str]]]:
    """`keys` as (channel, notification ids) groups of at most `size` ids: any database's
    limit on bound parameters."""
    ids: dict[Channel, list[str]] = {}
    for key in keys:
        ids.setdefault(key.channel, []).append(key.notification_id)
    return [
        (channel, of_channel[i : i + size])
        for channel, of_channel in ids.items()
        for i in range(0, len(of_channel), size)
    ]


# -- transactions, as functions of a connection -----------------------------------------------


def _select_rows(conn: Connection, keys: Sequence[DeliveryKey]) -> dict[DeliveryKey, DeliveryRow]:
    rows: dict[DeliveryKey, DeliveryRow] = {}
    for channel, ids in _groups(keys):
        result = conn.execute(_SELECT, {"k_channel": channel, "k_ids": ids})
        rows.update((row.key, row) for row in map(_row, result))
    return rows


def _count_attempts(
    conn: Connection, keys: Sequence[DeliveryKey], owner: str, now: dt.datetime
) -> dict[DeliveryKey, int]:
    counted: dict[DeliveryKey, int] = {}
    for channel, ids in _groups(keys):
        result = conn.execute(
            _COUNT_ATTEMPT, {"k_channel": channel, "k_ids": ids, "k_owner": owner, "k_now": now}
        )
        counted.update((_key(r), int(r.attempts)) for r in result)
    return counted


def _record(
    conn: Connection,
    decisions: Sequence[Decision],
    deferrals: Sequence[Deferral],
    reported: Sequence[DeliveryKey],
    owner: str,
    now: dt.datetime,
) -> list[DeliveryRow]:
    by_outcome: dict[tuple[DeliveryState, str | None], list[DeliveryKey]] = {}
    for d in decisions:
        by_outcome.setdefault((d.state, d.error), []).append(d.key)
    decided: list[DeliveryRow] = []
    for (state, error), keys in by_outcome.items():
        for channel, ids in _groups(keys):
            result = conn.execute(
                _DECIDE,
                {
                    "k_channel": channel,
                    "k_ids": ids,
                    "k_owner": owner,
                    "k_now": now,
                    "k_state": state.value,
                    "k_error": error,
                },
            )
            decided.extend(map(_row, result))
    if deferrals:
        conn.execute(
            _DEFER,
            [
                {
                    "k_channel": d.key.channel,
                    "k_id": d.key.notification_id,
                    "k_owner": owner,
                    "k_now": now,
                    "k_not_before": d.not_before,
                    "k_error": d.error,
                }
                for d in deferrals
            ],
        )
    _mark_reported(conn, reported)
    return decided


def _mark_reported(conn: Connection, keys: Iterable[DeliveryKey]) -> None:
    for channel, ids in _groups(keys):
        conn.execute(_MARK_REPORTED, {"k_channel": channel, "k_ids": ids})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")  # a claim survives a power cut, not only a crash
    cursor.close()


class _InThread:
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


class _OnLoop:
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
        engine = create_engine(
            parsed,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            hide_parameters=True,
        )
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # One connection, used by one thread: SQLite has one writer anyway.
        engine = create_engine(parsed, pool_size=1, max_overflow=0, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


# Held while creating the table: two instances starting on an empty PostgreSQL database
# would otherwise both CREATE TABLE, and one fail on a unique violation in pg_type.
_SCHEMA_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('reslot-notifier-schema'))")


def _create_schema(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":  # instances starting together: one creates
        conn.execute(_SCHEMA_LOCK)
    metadata.create_all(conn)


class DeliveryStore:
    def __init__(self, runner: _InThread | _OnLoop, dialect: str) -> None:
        self._runner = runner
        self._dialect = dialect
        if dialect == "postgresql":
            self._insert: Any = postgresql.insert(deliveries).on_conflict_do_nothing()
        elif dialect == "sqlite":
            self._insert = sqlite.insert(deliveries).on_conflict_do_nothing()
        else:
            raise NotImplementedError(f"notifier store on {dialect}: use SQLite or PostgreSQL")
        self._insert = self._insert.returning(t.notification_id, t.channel)

    @classmethod
    async def open(cls, url: str) -> "DeliveryStore":
        runner: _InThread | _OnLoop
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            runner = _InThread(_sqlite_engine(url))
        else:
            runner = _OnLoop(create_async_engine(url, pool_pre_ping=True, hide_parameters=True))
        try:
            await runner.run(_create_schema)
            return cls(runner, backend)
        except BaseException:
            await runner.close()
            raise

    async def close(self) -> None:
        await self._runner.close()

    @staticmethod
    def _values(new: NewDelivery, owner: str, now: dt.datetime, lease_s: float) -> dict[str, Any]:
        sending = new.state is DeliveryState.SENDING
        return {
            "notification_id": new.key.notification_id,
            "channel": new.key.channel,
            "state": new.state.value,
            "booking_id": new.booking_id,
            "centre_id": new.centre_id,
            "request": new.request if sending else None,
            "attempts": 0,
            "error": new.error,
            "not_before": new.not_before,
            "owner": owner if sending else None,
            "lease_until": now + dt.timedelta(seconds=lease_s) if sending else None,
            "reported": False,
            "created_at": now,
            "updated_at": now,
            "finished_at": None if sending else now,
        }

    async def claim(
        self, new: Sequence[NewDelivery], owner: str, now: dt.datetime, lease_s: float
    ) -> list[Claimed]:
        """Insert each row unless present, in one transaction; say which rows were new.

        A row already decided is marked unreported, so its status event is published again.
        """
        first: dict[DeliveryKey, NewDelivery] = {}
        for n in new:
            first.setdefault(n.key, n)  # the same request twice in one batch: one row
        if not first:
            return []
        values = [self._values(n, owner, now, lease_s) for n in first.values()]

        def work(conn: Connection) -> tuple[set[DeliveryKey], dict[DeliveryKey, DeliveryRow]]:
            inserted = {_key(r) for r in conn.execute(self._insert, values)}
            again = [key for key in first if key not in inserted]
            for channel, ids in _groups(again):
                conn.execute(_REPORT_AGAIN, {"k_channel": channel, "k_ids": ids})
            return inserted, _select_rows(conn, again) if again else {}

        inserted, rows = await self._runner.run(work)
        for key, value in zip(first, values, strict=True):
            if key in inserted:  # as written: no need to read it back
                rows[key] = _row_of_values(key, value)
        # One claim per distinct key, in request order: a key repeated in the batch counts once.
        return [Claimed(rows[key], key in inserted) for key in first]

    async def get(self, key: DeliveryKey) -> DeliveryRow | None:
        return (await self.rows([key])).get(key)

    async def rows(self, keys: Sequence[DeliveryKey]) -> dict[DeliveryKey, DeliveryRow]:
        """The rows of `keys` that exist."""
        if not keys:
            return {}
        return await self._runner.run(lambda conn: _select_rows(conn, keys))

    async def take_due(self, owner: str, now: dt.datetime, lease_s: float) -> list[DeliveryKey]:
        """Own every due row that is ours or unowned or whose owner's lease ran out.

        One UPDATE decides it, so two instances never take the same row.
        """
        lease_until = now + dt.timedelta(seconds=lease_s)
        stmt = (
            update(deliveries)
            .where(
                t.state == SENDING,
                t.not_before <= now,
                or_(t.owner == owner, t.owner.is_(None), t.lease_until < now),
            )
            .values(owner=owner, lease_until=lease_until)
            .returning(t.notification_id, t.channel)
        )
        keys = await self._runner.run(lambda conn: list(map(_key, conn.execute(stmt))))
        return sorted(keys, key=_order)

    async def renew(self, owner: str, now: dt.datetime, lease_s: float) -> None:
        """Extend the lease of every row this instance owns: it is alive."""
        stmt = (
            update(deliveries)
            .where(t.owner == owner, t.state == SENDING)
            .values(lease_until=now + dt.timedelta(seconds=lease_s))
        )
        await self._runner.run(lambda conn: conn.execute(stmt))

    async def begin_attempt(self, key: DeliveryKey, owner: str, now: dt.datetime) -> int | None:
        """Count the attempt before making it; None if the row is no longer ours to send."""
        return (await self.begin_attempts([key], owner, now)).get(key)

    async def begin_attempts(
        self, keys: Sequence[DeliveryKey], owner: str, now: dt.datetime
    ) -> dict[DeliveryKey, int]:
        """Count one attempt on each row before making them, in one transaction: the attempt
        number of each row still ours to send (a row taken over or decided is left out)."""
        if not keys:
            return {}
        return await self._runner.run(lambda conn: _count_attempts(conn, keys, owner, now))

    async def defer(
        self,
        key: DeliveryKey,
        owner: str,
        not_before: dt.datetime,
        now: dt.datetime,
        error: str | None = None,
    ) -> None:
        """Hold the row until `not_before` (quiet hours, backoff), noting the last error."""
        await self.record([], [Deferral(key, not_before, error)], owner, now)

    async def finish(
        self,
        key: DeliveryKey,
        owner: str,
        state: DeliveryState,
        now: dt.datetime,
        error: str | None = None,
    ) -> int | None:
        """Record the outcome (erasing the request) unless the row is no longer ours (None);
        returns the attempts made."""
        decided = await self.record([Decision(key, state, error)], [], owner, now)
        return decided[0].attempts if decided else None

    async def record(
        self,
        decisions: Sequence[Decision],
        deferrals: Sequence[Deferral],
        owner: str,
        now: dt.datetime,
        reported: Sequence[DeliveryKey] = (),
    ) -> list[DeliveryRow]:
        """In one transaction: record outcomes (erasing the request) and deferrals of rows
        still ours, and mark `reported` rows reported (their status events are out). Returns
        the rows decided by it; rows no longer ours are left alone."""
        if not (decisions or deferrals or reported):
            return []
        return await self._runner.run(
            lambda conn: _record(conn, decisions, deferrals, reported, owner, now)
        )

    async def unreported(self, limit: int) -> list[DeliveryRow]:
        """Decided rows whose status event is still to be published, oldest first."""
        stmt = (
            select(deliveries)
            .where(t.reported.is_(False), t.state != SENDING)
            .order_by(t.finished_at, t.notification_id, t.channel)
            .limit(limit)
        )
        return await self._runner.run(lambda conn: list(map(_row, conn.execute(stmt))))

    async def mark_reported(self, keys: Iterable[DeliveryKey]) -> None:
        keys = list(keys)
        if keys:
            await self._runner.run(lambda conn: _mark_reported(conn, keys))

    async def all_rows(self) -> list[DeliveryRow]:
        """Every row, for tests and the status page."""
        stmt = select(deliveries).order_by(t.notification_id, t.channel)
        return await self._runner.run(lambda conn: list(map(_row, conn.execute(stmt))))
