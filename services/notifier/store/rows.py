"""What the store takes and gives back, and the pieces every transaction shares: rows read
as values, keys grouped per channel, statements picking rows by key, status events as
outbox rows."""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, insert, select

from services.notifier.domain.model import Channel, DeliveryKey, DeliveryState
from services.notifier.domain.status import outcome_of, status_event
from services.notifier.store.tables import UtcDateTime, deliveries, outbox

t = deliveries.c
SENDING = DeliveryState.SENDING.value
NOW = bindparam("k_now", type_=UtcDateTime())


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
    in_flight: bool
    error: str | None
    not_before: dt.datetime
    owner: str | None
    lease_until: dt.datetime | None
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


@dataclass(frozen=True)
class Counted:
    """Attempts counted (the attempt number of each row still ours to send), and the rows
    found replaced instead, decided superseded in the same transaction."""

    attempts: dict[DeliveryKey, int]
    superseded: list[DeliveryRow]


def key_of(r: Any) -> DeliveryKey:
    """The key of a row as read (a result row) or as written (a dict of its values)."""
    v = r if isinstance(r, Mapping) else r._mapping
    channel: Channel = "email" if v["channel"] == "email" else "sms"
    return DeliveryKey(v["notification_id"], channel)


def row_of(r: Any) -> DeliveryRow:
    """A row as read (a result row) or as written (a dict of its values)."""
    v = r if isinstance(r, Mapping) else r._mapping
    return DeliveryRow(
        key=key_of(v),
        state=DeliveryState(v["state"]),
        booking_id=v["booking_id"],
        centre_id=v["centre_id"],
        request=v["request"],
        attempts=v["attempts"],
        in_flight=bool(v["in_flight"]),
        error=v["error"],
        not_before=v["not_before"],
        owner=v["owner"],
        lease_until=v["lease_until"],
        finished_at=v["finished_at"],
    )


def groups(keys: Iterable[DeliveryKey], size: int = 500) -> list[tuple[Channel, list[str]]]:
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


def keyed() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Rows of one channel (k_channel) and a list of notification ids (k_ids)."""
    return t.channel == bindparam("k_channel"), t.notification_id.in_(
        bindparam("k_ids", expanding=True)
    )


def ours() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Still to be sent, by the owner k_owner: what every write of a send checks first.

    `state || ''` is the same test as `state = ...`, but it keeps the planner off the
    (state, not_before) index, which SQLite would otherwise prefer to the primary key and
    then read every row being sent to find the few asked for."""
    return t.state.concat("") == SENDING, t.owner == bindparam("k_owner")


_SELECT = select(deliveries).where(*keyed())
_OUTBOX_INSERT = insert(outbox)


def select_rows(conn: Connection, keys: Iterable[DeliveryKey]) -> dict[DeliveryKey, DeliveryRow]:
    rows: dict[DeliveryKey, DeliveryRow] = {}
    for channel, ids in groups(keys):
        result = conn.execute(_SELECT, {"k_channel": channel, "k_ids": ids})
        rows.update((row.key, row) for row in map(row_of, result))
    return rows


def write_statuses(
    conn: Connection, decided: Iterable[DeliveryRow], owner: str, now: dt.datetime
) -> int:
    """The status events of `decided` rows into the outbox, in order; how many."""
    values = []
    for row in decided:
        outcome, error = outcome_of(row.state, row.error)
        event = status_event(row.key, row.centre_id, outcome, row.attempts, error,
                             row.finished_at or now)
        values.append({
            "owner": owner, "created_at": now, "centre_id": row.centre_id,
            "notification_id": row.key.notification_id, "channel": row.key.channel,
            "event_id": event.id, "event_type": event.type, "value": event.to_json(),
        })
    if values:
        conn.execute(_OUTBOX_INSERT, values)
    return len(values)
