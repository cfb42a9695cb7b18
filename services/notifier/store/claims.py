"""Claims: a request's deliveries inserted unless present, the replacements it names applied,
and the attempts counted before they are made; each a function of one connection (one
transaction), run by the store's runner.

A claim decides at once what cannot be sent (no contact, invalid, replaced before it came):
those rows are inserted decided, their status events written to the outbox with them.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, select, update

from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.domain.supersede import (
    Pending,
    Supersession,
    arrives_replaced,
    replaced_now,
)
from services.notifier.store.rows import (
    NOW,
    SENDING,
    Counted,
    DeliveryRow,
    NewDelivery,
    groups,
    key_of,
    keyed,
    ours,
    row_of,
    select_rows,
    write_statuses,
)
from services.notifier.store.tables import deliveries, superseded

t = deliveries.c
s = superseded.c
SUPERSEDED = DeliveryState.SUPERSEDED.value

_COUNT_ATTEMPT = (
    update(deliveries)
    .where(*keyed(), *ours())
    .values(attempts=t.attempts + 1, in_flight=True, updated_at=NOW)
    .returning(t.notification_id, t.channel, t.attempts)
)


def _superseding(*where: Any) -> Any:
    """Decide rows superseded, their request (personal data) erased; the rows as decided."""
    return (
        update(deliveries)
        .where(*keyed(), *where)
        .values(state=SUPERSEDED, request=None, owner=None, lease_until=None, in_flight=False,
                updated_at=NOW, finished_at=NOW)
        .returning(*deliveries.c)
    )


# Replaced and not on the wire: stopped at once, whoever holds it.
_SUPERSEDE = _superseding(t.state == SENDING, t.in_flight.is_(False))
# Replaced and about to be attempted by us: whatever an earlier attempt did (it crashed, or
# failed and came due again), no further attempt is made.
_SUPERSEDE_OURS = _superseding(*ours())
_REPLACED = select(s.notification_id, s.booking_id).where(
    s.notification_id.in_(bindparam("k_ids", expanding=True))
)


def new_values(new: NewDelivery, owner: str, now: dt.datetime, lease_s: float) -> dict[str, Any]:
    sending = new.state is DeliveryState.SENDING
    return {
        "notification_id": new.key.notification_id,
        "channel": new.key.channel,
        "state": new.state.value,
        "booking_id": new.booking_id,
        "centre_id": new.centre_id,
        "request": new.request if sending else None,
        "attempts": 0,
        "in_flight": False,
        "error": new.error,
        "not_before": new.not_before,
        "owner": owner if sending else None,
        "lease_until": now + dt.timedelta(seconds=lease_s) if sending else None,
        "created_at": now,
        "updated_at": now,
        "finished_at": None if sending else now,
    }


def replaced_of(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """Of `ids`, those a later request replaced: notification id -> the booking it named."""
    found: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        found.update((r.notification_id, r.booking_id)
                     for r in conn.execute(_REPLACED, {"k_ids": list(ids[i : i + 500])}))
    return found


def _record_supersessions(conn: Connection, insert: Insert, found: Sequence[Supersession],
                          now: dt.datetime) -> dict[str, str]:
    rows: dict[str, dict[str, Any]] = {
        i: {"notification_id": i, "booking_id": x.booking_id, "by_notification_id": x.by,
            "created_at": now}
        for x in found for i in x.replaced
    }
    if rows:
        conn.execute(insert, list(rows.values()))
    return {i: str(row["booking_id"]) for i, row in rows.items()}


def _supersede(conn: Connection, keys: Sequence[DeliveryKey], now: dt.datetime,
               owner: str | None = None) -> list[DeliveryRow]:
    """Rows of `keys` decided superseded: any not on the wire, or (`owner`) any of ours."""
    statement = _SUPERSEDE if owner is None else _SUPERSEDE_OURS
    decided: list[DeliveryRow] = []
    for channel, ids in groups(keys):
        values: dict[str, Any] = {"k_channel": channel, "k_ids": ids, "k_now": now}
        if owner is not None:
            values["k_owner"] = owner
        decided.extend(map(row_of, conn.execute(statement, values)))
    return decided


def claim(
    conn: Connection,
    inserts: tuple[Insert, Insert],  # deliveries, superseded: "insert unless present"
    values: list[dict[str, Any]],
    supersessions: Sequence[Supersession],
    owner: str,
    now: dt.datetime,
) -> tuple[set[DeliveryKey], dict[DeliveryKey, DeliveryRow]]:
    """Insert each row unless present; apply the replacements; write the status events of
    what this decides, and again those of rows decided before (a redelivered request).
    Returns the keys inserted and the rows as they stand after it, but for new rows left to
    be sent (as written)."""
    replacing = _record_supersessions(conn, inserts[1], supersessions, now)
    incoming = list(dict.fromkeys(v["notification_id"] for v in values))
    late = replaced_of(conn, incoming)
    for v in values:
        replaced_for = late.get(v["notification_id"])
        if v["state"] == SENDING and arrives_replaced(v["booking_id"], replaced_for):
            v.update(state=SUPERSEDED, request=None, owner=None, lease_until=None, finished_at=now)
    inserted = {key_of(r) for r in conn.execute(inserts[0], values)} if values else set()
    again = [key_of(v) for v in values if key_of(v) not in inserted]
    rows = select_rows(conn, again) if again else {}
    decided_now = [row_of(v) for v in values if key_of(v) in inserted and v["state"] != SENDING]
    decided_before = [r for r in rows.values() if r.state is not DeliveryState.SENDING]
    if replacing:
        stored = select_rows(conn, [DeliveryKey(i, c) for i in replacing for c in ("email", "sms")])
        pending = [Pending(r.key, r.booking_id, r.state, r.in_flight) for r in stored.values()]
        stopped = _supersede(conn, replaced_now(pending, replacing), now)
        rows.update((r.key, r) for r in stopped)
        decided_now += stopped
    write_statuses(conn, [*decided_before, *decided_now], owner, now)
    return inserted, rows


def count_attempts(conn: Connection, keys: Sequence[DeliveryKey], owner: str, now: dt.datetime
                   ) -> Counted:
    """Count one attempt on each row still ours to send, before making them; rows a later
    request replaced are decided superseded instead (their status in the outbox)."""
    late = replaced_of(conn, list(dict.fromkeys(k.notification_id for k in keys)))
    stopped: list[DeliveryRow] = []
    if late:
        rows = select_rows(conn, [k for k in keys if k.notification_id in late])
        stop = [r.key for r in rows.values()
                if arrives_replaced(r.booking_id, late[r.key.notification_id])]
        stopped = _supersede(conn, stop, now, owner)
        write_statuses(conn, stopped, owner, now)
    gone = {r.key for r in stopped}
    counted: dict[DeliveryKey, int] = {}
    for channel, ids in groups(k for k in keys if k not in gone):
        result = conn.execute(
            _COUNT_ATTEMPT, {"k_channel": channel, "k_ids": ids, "k_owner": owner, "k_now": now}
        )
        counted.update((key_of(r), int(r.attempts)) for r in result)
    return Counted(counted, stopped)


def take_due(conn: Connection, owner: str, now: dt.datetime, lease_s: float
             ) -> list[DeliveryKey]:
    """Own every due row that is unowned or whose owner's lease ran out (one UPDATE decides
    it, so two instances never take the same row); the due rows that are ours, so taken.
    Rows ours already are only read: their lease is `renew`'s, and rewriting every row in
    hand each sweep cost more than sending."""
    due = (t.state == SENDING, t.not_before <= now)
    conn.execute(
        update(deliveries)
        .where(*due, t.owner.is_(None) | (t.lease_until < now))
        .values(owner=owner, lease_until=now + dt.timedelta(seconds=lease_s))
    )
    mine = select(t.notification_id, t.channel).where(*due, t.owner == owner)
    return sorted(map(key_of, conn.execute(mine)), key=lambda k: (k.notification_id, k.channel))


def renew(conn: Connection, owner: str, now: dt.datetime, lease_s: float) -> None:
    """Extend the lease of every row this instance owns once a quarter of it has run (not
    every row every sweep): it is alive."""
    conn.execute(update(deliveries)
                 .where(t.owner == owner, t.state == SENDING,
                        t.lease_until < now + dt.timedelta(seconds=0.75 * lease_s))
                 .values(lease_until=now + dt.timedelta(seconds=lease_s)))
