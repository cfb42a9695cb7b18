"""What one input batch writes, as plain rows: built apart from the transaction, so that the
next batch can be applied in memory while this one is being written (SchedulerStore.write).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.scheduler.domain.routing import Route
from services.scheduler.domain.state import CentreState, PlanSummary
from services.scheduler.store import codec
from services.scheduler.store import tables as t
from services.scheduler.store.bulk import Row
from services.scheduler.store.calendar import calendar_rows
from services.scheduler.store.replies import Deletes, replies_rows, summary_row

TopicPartition = tuple[str, int]
Headers = tuple[tuple[str, bytes], ...]
# (internal topic, its partition, origin topic, origin partition) -> (origin offset, copy index)
OriginKey = tuple[str, int, str, int]
OriginPositions = Mapping[OriginKey, tuple[int, int]]


@dataclass(frozen=True)
class OutboxRow:
    """An event to publish. `partition` is the input partition that caused it: its owner
    relays it, in order. `to_partition`: where to publish it (None: by the key's hash)."""

    partition: int
    topic: str
    key: str
    value: bytes
    headers: Headers = ()  # Kafka headers beyond content-type: trace context, origin
    to_partition: int | None = None


@dataclass(frozen=True)
class StoredRow:
    seq: int
    topic: str
    key: str
    value: bytes
    headers: Headers = ()
    to_partition: int | None = None


def headers_column(headers: Headers) -> str | None:
    return json.dumps([[k, v.decode()] for k, v in headers]) if headers else None


def headers_of(column: str | None) -> Headers:
    return tuple((k, v.encode()) for k, v in json.loads(column)) if column else ()


OUTBOX_COLUMNS = ("partition", "topic", "key", "value", "headers", "to_partition")  # seq: in order


@dataclass(frozen=True)
class BatchRows:
    """Everything one input batch writes. A row is a tuple of its table's columns in order
    (the outbox's: OUTBOX_COLUMNS). `fence`: partition -> the epoch this instance claimed
    it with; the write is refused if another instance has claimed one since."""

    upserts: dict[str, list[Row]]
    resolved: list[tuple[str, str, str]]  # conflicts that no longer exist: deleted
    outbox: list[Row]
    fence: dict[int, int] = field(default_factory=dict)
    deletes: Deletes = field(default_factory=dict)  # table -> primary keys to delete


def batch_rows(
    states: Sequence[CentreState],
    routes: Mapping[str, Route],
    offsets: Mapping[TopicPartition, int],
    outbox: Sequence[OutboxRow],
    plans: Sequence[PlanSummary] = (),
    origins: OriginPositions | None = None,
    fence: Mapping[int, int] | None = None,
) -> BatchRows:
    """The rows of the states' changes (offers and replies included), routes, input
    offsets, outbox, plan summaries and the origins applied from the internal topics."""
    rows, resolved = _state_rows(states)
    replies, deletes = replies_rows(states)
    deletes.update(_retired_keys(states))
    rows[t.routes.name] = [
        (o, json.dumps(r.centres), json.dumps([p.model_dump_json() for p in r.pending]),
         r.declared.model_dump_json() if r.declared is not None else None)
        for o, r in routes.items()
    ]
    rows[t.offsets.name] = [(tp[0], tp[1], off) for tp, off in offsets.items()]
    # the summaries of plans approved come last: a plan held and approved in one batch
    rows[t.plans.name] = [summary_row(p) for p in plans] + replies.pop(t.plans.name)
    rows.update(replies)
    rows[t.origins.name] = [(*key, *position) for key, position in (origins or {}).items()]
    return BatchRows(rows, resolved, [
        (r.partition, r.topic, r.key, r.value, headers_column(r.headers), r.to_partition)
        for r in outbox
    ], dict(fence or {}), deletes)


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


def _retired_keys(states: Sequence[CentreState]) -> Deletes:
    """The rows of bookings and slots that left the calendar (retirement.py): a booking with
    its decision, the calls logged for it (operators' notes) and what was done with the
    replies and acts about it, a slot; not one that came back in the same batch."""
    gone = [(s.centre_id, b) for s in states for b in sorted(s.retired_bookings)
            if b not in s.bookings]
    slots = [(s.centre_id, k[0], codec.ts(k[1])) for s in states
             for k in sorted(s.retired_slots) if k not in s.slots]
    return {t.bookings.name: gone, t.decisions.name: list(gone), t.call_log.name: list(gone),
            t.reply_outcomes.name: list(gone), t.slots.name: slots}
