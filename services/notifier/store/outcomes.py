"""Outcomes: what finished sending, recorded in one transaction with the status events of
what it decided (the outbox), so a decision and its report are never apart."""

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, Text, bindparam, func, update

from services.notifier.domain.model import DeliveryKey, DeliveryState
from services.notifier.store.rows import (
    NOW,
    Decision,
    Deferral,
    DeliveryRow,
    groups,
    keyed,
    ours,
    row_of,
    write_statuses,
)
from services.notifier.store.tables import UtcDateTime, deliveries

t = deliveries.c

_DECIDE = (
    update(deliveries)
    .where(*keyed(), *ours())
    .values(
        state=bindparam("k_state"),
        error=bindparam("k_error", type_=Text),
        request=None,
        in_flight=False,
        owner=None,
        lease_until=None,
        updated_at=NOW,
        finished_at=NOW,
    )
    .returning(*deliveries.c)  # the request: NULL by now
)
_DEFER = (
    update(deliveries)
    .where(t.channel == bindparam("k_channel"), t.notification_id == bindparam("k_id"), *ours())
    .values(
        not_before=bindparam("k_not_before", type_=UtcDateTime()),
        error=func.coalesce(bindparam("k_error", type_=Text), t.error),
        in_flight=False,
        updated_at=NOW,
    )
)


def record(
    conn: Connection,
    decisions: Sequence[Decision],
    deferrals: Sequence[Deferral],
    owner: str,
    now: dt.datetime,
) -> list[DeliveryRow]:
    """Record outcomes (erasing the request) and deferrals of rows still ours, and the
    status events of the outcomes; the rows decided (rows no longer ours are left alone)."""
    by_outcome: dict[tuple[DeliveryState, str | None], list[DeliveryKey]] = {}
    for d in decisions:
        by_outcome.setdefault((d.state, d.error), []).append(d.key)
    decided: list[DeliveryRow] = []
    for (state, error), keys in by_outcome.items():
        for channel, ids in groups(keys):
            result = conn.execute(_DECIDE, {
                "k_channel": channel, "k_ids": ids, "k_owner": owner, "k_now": now,
                "k_state": state.value, "k_error": error,
            })
            decided.extend(map(row_of, result))
    if deferrals:
        conn.execute(_DEFER, [
            {"k_channel": d.key.channel, "k_id": d.key.notification_id, "k_owner": owner,
             "k_now": now, "k_not_before": d.not_before, "k_error": d.error}
            for d in deferrals
        ])
    write_statuses(conn, decided, owner, now)
    return decided
