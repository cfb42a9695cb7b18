"""Small builders of contract events for tests (JSON dicts and parsed CloudEvents)."""

import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from schemas.envelope import CloudEvent, parse_event
from schemas.events import INPUT_ADAPTER

TZ = ZoneInfo("Africa/Algiers")
ANNOUNCED = dt.datetime(2025, 11, 25, 10, 0, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=TZ)


def raw(kind: str, data: dict[str, Any], subject: str | None = None, eid: str | None = None,
        time: dt.datetime = ANNOUNCED) -> dict[str, Any]:
    subject = data.get("centre_id", "") if subject is None else subject
    body = _jsonable(data)
    eid = eid or f"{kind}-{hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()}"
    return {"specversion": "1.0", "id": eid, "source": "test", "type": kind,
            "time": time.isoformat(), "subject": subject, "data": body}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def ev(kind: str, data: dict[str, Any], **kw: Any) -> CloudEvent[Any]:
    return parse_event(json.dumps(raw(kind, data, **kw)), INPUT_ADAPTER)


def line(kind: str, data: dict[str, Any], **kw: Any) -> str:
    return json.dumps(raw(kind, data, **kw))


CENTRE = "capago-alger"


def centre(centre_id: str = CENTRE) -> dict[str, Any]:
    return {"centre_id": centre_id, "name": "Capago Alger", "city": "Alger", "country": "DZ",
            "timezone": "Africa/Algiers", "address": "Bab Ezzouar, Alger",
            "languages": ["fr", "ar"]}


def slots(starts: list[dt.datetime], capacity: int = 2, service: str = "short_stay",
          centre_id: str = CENTRE, duration: int = 30) -> dict[str, Any]:
    return {"centre_id": centre_id, "service": service,
            "slots": [{"start": s, "duration_min": duration, "capacity": capacity}
                      for s in starts]}


def booking(booking_id: str, start: dt.datetime, service: str = "short_stay",
            centre_id: str = CENTRE, **extra: Any) -> dict[str, Any]:
    data = {"booking_id": booking_id, "centre_id": centre_id, "service": service,
            "slot_start": start,
            "applicant": {"name": "Amine Benali", "language": "fr",
                          "email": f"{booking_id}@example.dz", "phone": "+213555000111"}}
    data.update(extra)
    return data


def outage(outage_id: str, start: dt.datetime, end: dt.datetime,
           centre_ids: tuple[str, ...] = (CENTRE,), **extra: Any) -> dict[str, Any]:
    data = {"outage_id": outage_id, "centre_ids": list(centre_ids), "start": start, "end": end,
            "reason": "France-Visas portal maintenance"}
    data.update(extra)
    return data


def notification_variables(n: int) -> dict[str, str]:
    """What the scheduler sends the notifier for a booking moved out of a 3 Dec outage."""
    return {
        "old_start": "2025-12-03T16:30:00+01:00",
        "new_start": "2025-12-04T09:00:00+01:00",
        "timezone": "Africa/Algiers",
        "centre_name": "Capago Alger",
        "centre_address": "Lot 12, rue Ahmed Ouaked, Dely Ibrahim",
        "centre_city": "Alger",
        "service": "short_stay",
        "reason": "next_days",
        "booking_id": f"BK-{n}",
    }
