"""SQL at the edge: claims, leases, attempts and outcomes of deliveries (SQLAlchemy 2 async).

SQLite by default (one connection, WAL), PostgreSQL in production. Every method is one short
transaction. An instance owns the rows it sends through a lease it renews; rows of an instance
that died are taken over once their lease has run out (at once by the same instance id).
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, event, or_, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from services.notifier.domain.model import Channel, DeliveryKey, DeliveryState
from services.notifier.store.tables import deliveries, metadata

t = deliveries.c


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


def _row(r: Any) -> DeliveryRow:
    channel: Channel = "email" if r.channel == "email" else "sms"
    return DeliveryRow(
        key=DeliveryKey(r.notification_id, channel),
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


def _is(key: DeliveryKey) -> ColumnElement[bool]:
    return and_(t.notification_id == key.notification_id, t.channel == key.channel)


def _mine(key: DeliveryKey, owner: str) -> ColumnElement[bool]:
    return and_(_is(key), t.state == DeliveryState.SENDING.value, t.owner == owner)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")  # a claim survives a power cut, not only a crash
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    database = parsed.database or ""
    if database in ("", ":memory:"):
        engine = create_async_engine(url, poolclass=StaticPool, hide_parameters=True)
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer anyway, and lock upgrades never collide.
        # hide_parameters: SQL errors are logged, and parameters hold personal data.
        engine = create_async_engine(
            url, pool_size=1, max_overflow=0, pool_timeout=60, hide_parameters=True
        )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


# Held while creating the table: two instances starting on an empty PostgreSQL database
# would otherwise both CREATE TABLE, and one fail on a unique violation in pg_type.
_SCHEMA_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('reslot-notifier-schema'))")


class DeliveryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    @classmethod
    async def open(cls, url: str) -> "DeliveryStore":
        engine = make_engine(url)
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # instances starting together: one creates
                await conn.execute(_SCHEMA_LOCK)
            await conn.run_sync(metadata.create_all)
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    def _insert_ignoring_existing(self) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(deliveries).on_conflict_do_nothing()
        if self._dialect == "sqlite":
            return sqlite.insert(deliveries).on_conflict_do_nothing()
        raise NotImplementedError(f"notifier store on {self._dialect}: use SQLite or PostgreSQL")

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
        stmt = self._insert_ignoring_existing().returning(t.notification_id, t.channel)
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt, values)
            inserted = {DeliveryKey(r.notification_id, r.channel) for r in result}
            again = [key for key in first if key not in inserted]
            for chunk in _chunks(again):
                await conn.execute(
                    update(deliveries)
                    .where(_keys(chunk), t.state != DeliveryState.SENDING.value)
                    .values(reported=False)
                )
            rows = await self._select(conn, list(first))
        # One claim per distinct key, in request order: a key repeated in the batch counts once.
        return [Claimed(rows[key], key in inserted) for key in first]

    async def _select(
        self, conn: AsyncConnection, keys: Sequence[DeliveryKey]
    ) -> dict[DeliveryKey, DeliveryRow]:
        rows: dict[DeliveryKey, DeliveryRow] = {}
        for chunk in _chunks(keys):
            result = await conn.execute(select(deliveries).where(_keys(chunk)))
            rows.update((row.key, row) for row in map(_row, result))
        return rows

    async def get(self, key: DeliveryKey) -> DeliveryRow | None:
        async with self._engine.connect() as conn:
            return (await self._select(conn, [key])).get(key)

    async def take_due(self, owner: str, now: dt.datetime, lease_s: float) -> list[DeliveryKey]:
        """Own every due row that is ours or unowned or whose owner's lease ran out.

        One UPDATE decides it, so two instances never take the same row.
        """
        lease_until = now + dt.timedelta(seconds=lease_s)
        stmt = (
            update(deliveries)
            .where(
                t.state == DeliveryState.SENDING.value,
                t.not_before <= now,
                or_(t.owner == owner, t.owner.is_(None), t.lease_until < now),
            )
            .values(owner=owner, lease_until=lease_until)
            .returning(t.notification_id, t.channel)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
            return sorted(DeliveryKey(r.notification_id, r.channel) for r in result)

    async def renew(self, owner: str, now: dt.datetime, lease_s: float) -> None:
        """Extend the lease of every row this instance owns: it is alive."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(t.owner == owner, t.state == DeliveryState.SENDING.value)
                .values(lease_until=now + dt.timedelta(seconds=lease_s))
            )

    async def begin_attempt(self, key: DeliveryKey, owner: str, now: dt.datetime) -> int | None:
        """Count the attempt before making it; None if the row is no longer ours to send."""
        stmt = (
            update(deliveries)
            .where(_mine(key, owner))
            .values(attempts=t.attempts + 1, updated_at=now)
            .returning(t.attempts)
        )
        async with self._engine.begin() as conn:
            attempts = (await conn.execute(stmt)).scalar_one_or_none()
        return int(attempts) if attempts is not None else None

    async def defer(
        self,
        key: DeliveryKey,
        owner: str,
        not_before: dt.datetime,
        now: dt.datetime,
        error: str | None = None,
    ) -> None:
        """Hold the row until `not_before` (quiet hours, backoff), noting the last error."""
        values: dict[str, Any] = {"not_before": not_before, "updated_at": now}
        if error is not None:
            values["error"] = error
        async with self._engine.begin() as conn:
            await conn.execute(update(deliveries).where(_mine(key, owner)).values(**values))

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
        stmt = (
            update(deliveries)
            .where(_mine(key, owner))
            .values(
                state=state.value,
                error=error,
                request=None,
                owner=None,
                lease_until=None,
                reported=False,
                updated_at=now,
                finished_at=now,
            )
            .returning(t.attempts)
        )
        async with self._engine.begin() as conn:
            attempts = (await conn.execute(stmt)).scalar_one_or_none()
        return int(attempts) if attempts is not None else None

    async def unreported(self, limit: int) -> list[DeliveryRow]:
        """Decided rows whose status event is still to be published, oldest first."""
        stmt = (
            select(deliveries)
            .where(t.reported.is_(False), t.state != DeliveryState.SENDING.value)
            .order_by(t.finished_at, t.notification_id, t.channel)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_row(r) for r in await conn.execute(stmt)]

    async def mark_reported(self, keys: Iterable[DeliveryKey]) -> None:
        async with self._engine.begin() as conn:
            for chunk in _chunks(list(keys)):
                await conn.execute(update(deliveries).where(_keys(chunk)).values(reported=True))

    async def all_rows(self) -> list[DeliveryRow]:
        """Every row, for tests and the status page."""
        async with self._engine.connect() as conn:
            result = await conn.execute(select(deliveries).order_by(t.notification_id, t.channel))
            return [_row(r) for r in result]


def _chunks(keys: Sequence[DeliveryKey], size: int = 500) -> list[Sequence[DeliveryKey]]:
    """Key lists small enough for any database's limit on bound parameters."""
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _keys(keys: Sequence[DeliveryKey]) -> ColumnElement[bool]:
    return tuple_(t.notification_id, t.channel).in_([(k.notification_id, k.channel) for k in keys])
