"""Rows of one input batch: what the store writes in its one transaction, built apart from
it (pure), so the next batch can be applied in memory while this one is being written."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.scheduler.domain.routing import Route
from services.scheduler.domain.state import CentreState, PlanSummary
from services.scheduler.store import codec
from services.scheduler.store import tables as t
from services.scheduler.store.bulk import Row
from services.scheduler.store.calendar import calendar_rows

TopicPartition = tuple[str, int]
Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class OutboxRow:
    partition: int
    topic: str
    key: str
    value: bytes
    headers: Headers = ()  # Kafka headers beyond content-type: the trace context


def _headers_column(headers: Headers) -> str | None:
    return json.dumps([[k, v.decode()] for k, v in headers]) if headers else None


OUTBOX_COLUMNS = ("partition", "topic", "key", "value", "headers")  # seq: assigned in order


@dataclass(frozen=True)
class BatchRows:
    """Everything one input batch writes, as rows: built apart from the transaction, so the
    next batch can be applied in memory while this one is being written. A row is a tuple
    of its table's columns in order (the outbox's: OUTBOX_COLUMNS)."""

    upserts: dict[str, list[Row]]
    resolved: list[tuple[str, str, str]]  # conflicts that no longer exist: deleted
    outbox: list[Row]


def batch_rows(
    states: Sequence[CentreState],
    routes: Mapping[str, Route],
    offsets: Mapping[TopicPartition, int],
    outbox: Sequence[OutboxRow],
    plans: Sequence[PlanSummary] = (),
) -> BatchRows:
    """The rows of the states' changes, routes, input offsets, outbox and plan summaries."""
    rows, resolved = _state_rows(states)
    rows[t.routes.name] = [
        (o, json.dumps(r.centres), json.dumps([p.model_dump_json() for p in r.pending]),
         r.declared.model_dump_json() if r.declared is not None else None)
        for o, r in routes.items()
    ]
    rows[t.offsets.name] = [(tp[0], tp[1], off) for tp, off in offsets.items()]
    rows[t.plans.name] = [
        (p.plan_id, p.centre_id, p.outage_id, json.dumps(p.__dict__)) for p in plans
    ]
    return BatchRows(rows, resolved, [
        (r.partition, r.topic, r.key, r.value, _headers_column(r.headers)) for r in outbox
    ])


def _state_rows(
    states: Sequence[CentreState],
) -> tuple[dict[str, list[Row]], list[tuple[str, str, str]]]:
    """The rows every changed part of every centre needs, by table; conflicts resolved."""
    rows: dict[str, list[Row]] = {
        name: [] for name in ("centres", "slots", "bookings", "outages", "decisions", "conflicts")
    }
    resolved = []
    for s in states:
        c = s.centre_id
        if s.dirty_info and s.info is not None:
            rows["centres"].append((c, s.info.model_dump_json()))
        rows["slots"] += [
            (c, k[0], codec.ts(k[1]), s.slots[k].duration_min, s.slots[k].capacity)
            for k in s.dirty_slots
        ]
        rows["bookings"] += [codec.booking_row(c, b, s.bookings[b]) for b in s.dirty_bookings]
        rows["outages"] += [
            (c, o, codec.outage_record(s.outages[o])) for o in s.dirty_outages
        ]
        rows["decisions"] += [
            codec.decision_row(c, b, s.decisions[b]) for b in s.dirty_decisions
        ]
        for k in s.dirty_conflicts:
            if k in s.conflicts:
                rows["conflicts"].append(
                    (c, k[0], codec.ts(k[1]), s.conflicts[k][0], s.conflicts[k][1]))
            else:
                resolved.append((c, k[0], codec.ts(k[1])))
    rows.update(calendar_rows(states))
    return rows, resolved
