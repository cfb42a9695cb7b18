"""The outbox of status events: read in order by the relay, deleted once published.

Each instance relays the rows it wrote; rows older than `orphan_after_s` are relayed by any
instance (their writer died before publishing them). Two relays publishing one row publish
the same event twice, with the same id: consumers dedupe by id.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select

from services.notifier.store.tables import outbox

o = outbox.c


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    centre_id: str  # the Kafka key
    notification_id: str
    channel: str
    event_id: str
    event_type: str
    value: bytes


def _row(r: Any) -> OutboxRow:
    return OutboxRow(r.seq, r.centre_id, r.notification_id, r.channel, r.event_id,
                     r.event_type, bytes(r.value))


def batch(conn: Connection, owner: str, now: dt.datetime, orphan_after_s: float, limit: int
          ) -> list[OutboxRow]:
    """The oldest rows to publish, ours or orphaned, in the order they were written."""
    orphaned = now - dt.timedelta(seconds=orphan_after_s)
    stmt = (
        select(outbox)
        .where(or_(o.owner == owner, o.created_at < orphaned))
        .order_by(o.seq)
        .limit(limit)
    )
    return [_row(r) for r in conn.execute(stmt)]


_DELETE = delete(outbox).where(o.seq.in_(bindparam("k_seqs", expanding=True)))


def remove(conn: Connection, seqs: Sequence[int]) -> None:
    for i in range(0, len(seqs), 500):
        conn.execute(_DELETE, {"k_seqs": list(seqs[i : i + 500])})


def backlog(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
