"""Rows <-> domain values. Times are stored as UTC ISO strings, which sort as times."""

import datetime as dt
import functools
import json
from typing import Any

from schemas.data import Applicant, CentreRegistered
from services.scheduler.domain.state import (
    BookingRec,
    CentreState,
    Decision,
    OutageRec,
    SlotKey,
)


@functools.lru_cache(maxsize=1 << 16)
def ts(value: dt.datetime) -> str:
    """UTC ISO text of an aware time. Cached: a calendar has few distinct slot times, and
    converting was a tenth of ingestion. Equal instants in other zones give the same text."""
    return value.astimezone(dt.UTC).isoformat()


def parse_ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# Rows are tuples in their table's column order (tables.py): thousands per batch.
# What Applicant.model_dump_json() does, without its per-call forwarding of defaults.
_applicant_json = Applicant.__pydantic_serializer__.to_json

def booking_row(centre_id: str, booking_id: str, b: BookingRec) -> tuple[Any, ...]:
    return (
        centre_id,
        booking_id,
        b.status,
        b.service,
        ts(b.slot_start) if b.slot_start else None,
        b.group_id,
        b.category,
        b.travel_date.isoformat() if b.travel_date else None,
        _applicant_json(b.applicant).decode() if b.applicant else None,
    )


def booking_of(row: Any) -> BookingRec:
    return BookingRec(
        status=row.status,
        service=row.service,
        slot_start=parse_ts(row.slot_start) if row.slot_start else None,
        group_id=row.group_id,
        category=row.category,
        travel_date=dt.date.fromisoformat(row.travel_date) if row.travel_date else None,
        applicant=Applicant.model_validate_json(row.applicant) if row.applicant else None,
    )


def outage_record(o: OutageRec) -> str:
    return json.dumps({
        "start": ts(o.start), "end": ts(o.end), "services": o.services,
        "notice_min": o.notice_min, "announced": ts(o.announced), "active": o.active,
        "reason": o.reason, "revised": ts(o.revised) if o.revised else None,
    })


def outage_of(record: str) -> OutageRec:
    r = json.loads(record)
    return OutageRec(
        start=parse_ts(r["start"]), end=parse_ts(r["end"]),
        services=tuple(r["services"]) if r["services"] is not None else None,
        notice_min=r["notice_min"], announced=parse_ts(r["announced"]), active=r["active"],
        reason=r["reason"], revised=parse_ts(r["revised"]) if r.get("revised") else None,
    )


def decision_row(centre_id: str, booking_id: str, dec: Decision) -> tuple[Any, ...]:
    return (centre_id, booking_id, dec.outage_id, dec.plan_id, dec.kind, ts(dec.at_start),
            dec.reason, ts(dec.to_start) if dec.to_start else None,
            ts(dec.original_start) if dec.original_start else None, dec.notification_id,
            ts(dec.decided_at) if dec.decided_at else None)


def decision_of(row: Any) -> Decision:
    return Decision(row.outage_id, row.plan_id, row.kind, parse_ts(row.at_start), row.reason,
                    parse_ts(row.to_start) if row.to_start else None,
                    parse_ts(row.original_start) if row.original_start else None,
                    row.notification_id, parse_ts(row.decided_at) if row.decided_at else None)


def slot_key(service: str, start: str) -> SlotKey:
    return (service, parse_ts(start))


def info_of(text: str) -> CentreRegistered:
    return CentreRegistered.model_validate_json(text)


def empty(centre_id: str) -> CentreState:
    return CentreState(centre_id=centre_id)
