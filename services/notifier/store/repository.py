"""The notifier's store (SQLAlchemy 2; SQLite by default, PostgreSQL in production): one
method per transaction, each written in the module of its seam:

    claims.py    requests claimed, replacements applied, attempts counted, leases
    outcomes.py  outcomes recorded with their status events
    outbox.py    status events read in order and deleted once published

An instance owns the rows it sends through a lease it renews; rows of an instance that died
are taken over once their lease has run out (at once by the same instance id).
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.domain.supersede import Supersession
from services.notifier.store import claims, outbox, outcomes
from services.notifier.store.engine import Runner, create_schema, runner_for
from services.notifier.store.outbox import OutboxRow
from services.notifier.store.rows import (
    Claimed,
    Counted,
    Decision,
    Deferral,
    DeliveryRow,
    NewDelivery,
    row_of,
    select_rows,
)
from services.notifier.store.tables import deliveries, superseded

t = deliveries.c


def _insert_unless_present(dialect: str) -> tuple[Insert, Insert]:
    make: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        make(deliveries).on_conflict_do_nothing().returning(t.notification_id, t.channel),
        make(superseded).on_conflict_do_nothing(),
    )


class DeliveryStore:
    def __init__(self, url: str) -> None:
        """The store of `url`; nothing connects before `open`."""
        self._runner: Runner
        self._runner, dialect = runner_for(url)
        self._inserts = _insert_unless_present(dialect)
        self._closed = False

    @classmethod
    async def connect(cls, url: str) -> "DeliveryStore":
        """A store of `url`, opened."""
        store = cls(url)
        await store.open()
        return store

    async def open(self) -> None:
        """Create the tables (or bring an older store up to date)."""
        try:
            await self._runner.run(create_schema)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._runner.close()

    # -- claims ------------------------------------------------------------------------------

    async def claim(
        self,
        new: Sequence[NewDelivery],
        owner: str,
        now: dt.datetime,
        lease_s: float,
        supersessions: Sequence[Supersession] = (),
    ) -> list[Claimed]:
        """Insert each row unless present, in one transaction, and apply `supersessions`;
        say which rows were new. Status events of what this decides (and again of rows
        decided before: a redelivered request) go to the outbox in the same transaction."""
        first: dict[DeliveryKey, NewDelivery] = {}
        for n in new:
            first.setdefault(n.key, n)  # the same request twice in one batch: one row
        if not first and not supersessions:
            return []
        values = [claims.new_values(n, owner, now, lease_s) for n in first.values()]

        def work(conn: Connection) -> tuple[set[DeliveryKey], dict[DeliveryKey, DeliveryRow]]:
            return claims.claim(conn, self._inserts, values, supersessions, owner, now)

        inserted, rows = await self._runner.run(work)
        for key, value in zip(first, values, strict=True):
            if key in inserted:  # as written: no need to read it back
                rows[key] = row_of(value)
        # One claim per distinct key, in request order: a key repeated in the batch counts once.
        return [Claimed(rows[key], key in inserted) for key in first]

    async def take_due(self, owner: str, now: dt.datetime, lease_s: float) -> list[DeliveryKey]:
        return await self._runner.run(lambda conn: claims.take_due(conn, owner, now, lease_s))

    async def renew(self, owner: str, now: dt.datetime, lease_s: float) -> None:
        await self._runner.run(lambda conn: claims.renew(conn, owner, now, lease_s))

    async def begin_attempts(
        self, keys: Sequence[DeliveryKey], owner: str, now: dt.datetime
    ) -> Counted:
        """Count one attempt on each row before making them, in one transaction: the attempt
        number of each row still ours to send (a row taken over or decided is left out; one
        replaced by a later request is decided superseded)."""
        if not keys:
            return Counted({}, [])
        return await self._runner.run(lambda conn: claims.count_attempts(conn, keys, owner, now))

    async def begin_attempt(self, key: DeliveryKey, owner: str, now: dt.datetime) -> int | None:
        """Count the attempt before making it; None if the row is no longer ours to send."""
        return (await self.begin_attempts([key], owner, now)).attempts.get(key)

    # -- outcomes ----------------------------------------------------------------------------

    async def record(
        self,
        decisions: Sequence[Decision],
        deferrals: Sequence[Deferral],
        owner: str,
        now: dt.datetime,
    ) -> list[DeliveryRow]:
        """In one transaction: outcomes (erasing the request) and deferrals of rows still
        ours, and the status events of the outcomes. Returns the rows decided by it."""
        if not (decisions or deferrals):
            return []
        return await self._runner.run(
            lambda conn: outcomes.record(conn, decisions, deferrals, owner, now)
        )

    async def finish(
        self, key: DeliveryKey, owner: str, state: DeliveryState, now: dt.datetime,
        error: str | None = None,
    ) -> int | None:
        """Record one outcome unless the row is no longer ours (None); the attempts made."""
        decided = await self.record([Decision(key, state, error)], [], owner, now)
        return decided[0].attempts if decided else None

    # -- the outbox --------------------------------------------------------------------------

    async def outbox_batch(
        self, owner: str, now: dt.datetime, orphan_after_s: float, limit: int
    ) -> list[OutboxRow]:
        return await self._runner.run(
            lambda conn: outbox.batch(conn, owner, now, orphan_after_s, limit)
        )

    async def outbox_delete(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._runner.run(lambda conn: outbox.remove(conn, seqs))

    async def outbox_backlog(self) -> int:
        return await self._runner.run(outbox.backlog)

    # -- reading -----------------------------------------------------------------------------

    async def get(self, key: DeliveryKey) -> DeliveryRow | None:
        return (await self.rows([key])).get(key)

    async def rows(self, keys: Sequence[DeliveryKey]) -> dict[DeliveryKey, DeliveryRow]:
        """The rows of `keys` that exist."""
        if not keys:
            return {}
        return await self._runner.run(lambda conn: select_rows(conn, keys))

    async def all_rows(self) -> list[DeliveryRow]:
        """Every row, for tests and the status page."""
        stmt = select(deliveries).order_by(t.notification_id, t.channel)
        return await self._runner.run(lambda conn: list(map(row_of, conn.execute(stmt))))
