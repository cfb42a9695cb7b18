"""Fuzzing the edges where bytes from Kafka become events (hypothesis, derandomized).

Whatever arrives — random bytes, random JSON, valid events with a field dropped, retyped or
garbled, on the right topic or another — the scheduler's `parse(Record)` and the notifier's
parse path (the contract parser, then the check that the request can be written as a
message) never raise: they give an event, or an EventError with a non-empty kind and
message, which is turned into a dead letter. A valid event that passes the parser also goes
through the scheduler's fold and planning without an unhandled exception.
"""

import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemas.envelope import EventError, parse_event
from schemas.events import NOTIFICATION_ADAPTER
from schemas.topics import INPUT_TOPICS, TOPIC_OF_TYPE, Topic
from services.common.deadletter import deadletter_event
from services.common.settings import Settings
from services.notifier.dispatcher import DispatchConfig
from services.notifier.domain.retry import RetryPolicy
from services.notifier.rendering import Renderer
from services.notifier.service import plan_deliveries
from services.scheduler.app import planning_config
from services.scheduler.domain.process import process
from services.scheduler.domain.state import CentreState
from services.scheduler.parsing import InputRecord, centre_of, deadletter_row, parse
from tests.builders import CENTRE, at, booking, centre, outage, raw, slots

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
TOPICS = [str(t) for t in (*INPUT_TOPICS, Topic.OUTAGES, Topic.NOTIFICATIONS)]
CONFIG = planning_config(Settings.model_construct())
RENDERER = Renderer()
DISPATCH = DispatchConfig(owner="fuzz", retry=RetryPolicy(max_attempts=3, base_s=0.1, cap_s=1),
                          quiet_start=21, quiet_end=8)
NOW = dt.datetime(2025, 11, 25, 9, 0, tzinfo=dt.UTC)

VALID_INPUTS: list[dict[str, Any]] = [
    raw("visa.centre.registered.v1", centre()),
    raw("visa.slots.published.v1", slots([at(3, 9), at(3, 10), at(4, 9)], capacity=2)),
    raw("visa.slots.withdrawn.v1", {"centre_id": CENTRE, "service": "short_stay",
                                    "starts": [at(3, 9)]}),
    raw("visa.booking.created.v1", booking("b1", at(3, 9), group_id="fam-1",
                                           travel_date="2025-12-20", category="medical")),
    raw("visa.booking.cancelled.v1", {"booking_id": "b1", "centre_id": CENTRE}),
    raw("visa.booking.moved.v1", {"booking_id": "b1", "centre_id": CENTRE,
                                  "slot_start": at(4, 9)}),
    raw("visa.outage.declared.v1", outage("o1", at(3, 8), at(3, 12), services=["short_stay"],
                                          notice_min=60), subject=""),
    raw("visa.outage.revised.v1", {"outage_id": "o1", "start": at(3, 8), "end": at(3, 17)},
        subject=CENTRE),
    raw("visa.outage.lifted.v1", {"outage_id": "o1"}, subject=CENTRE),
]
VALID_REQUEST: dict[str, Any] = {
    "specversion": "1.0", "id": "evt-1", "source": "reslot/scheduler",
    "type": "visa.notification.requested.v1", "time": "2025-11-25T10:00:00+01:00",
    "subject": CENTRE, "data": {
        "notification_id": "n-1", "booking_id": "b1", "centre_id": CENTRE,
        "template": "appointment_rescheduled", "language": "ar",
        "recipient": {"name": "Amel Benali", "email": "amel@example.dz",
                      "phone": "+213555000111"},
        "variables": {
            "old_start": "2025-12-03T16:30:00+01:00", "new_start": "2025-12-04T09:00:00+01:00",
            "timezone": "Africa/Algiers", "centre_name": "Capago Alger",
            "centre_address": "Bab Ezzouar", "centre_city": "Alger", "service": "short_stay",
            "reason": "next_days", "booking_id": "b1"}}}

def _copy(event: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(event))
    return copied


def _with(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    event = _copy(base)
    parent = event
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return event


# Inputs that once crashed (regressions): a time zone that is a tzdata directory raised
# IsADirectoryError, an OSError the consumer took for an outage and retried forever; years
# at the ends of the calendar and huge notices overflowed the planning arithmetic; the
# notifier's checks let the same time zone and an overflowing time through.
AFRICA = _with(VALID_INPUTS[0], ("data", "timezone"), "Africa")
YEAR_9999 = _with(VALID_INPUTS[5], ("data", "slot_start"), "9999-12-31T23:59:00-14:00")
YEAR_1 = _with(VALID_INPUTS[1], ("data", "slots", 0, "start"), "0001-01-01T00:00:00+14:00")
HUGE_NOTICE = _with({**VALID_INPUTS[6], "subject": CENTRE}, ("data", "notice_min"), 10**12)
LATE_TIME = _with(VALID_INPUTS[6], ("time",), "9999-12-31T23:59:00+00:00")
REQUEST_AFRICA = _with(VALID_REQUEST, ("data", "variables", "timezone"), "Africa")
REQUEST_9999 = _with(VALID_REQUEST, ("data", "variables", "old_start"),
                     "9999-12-31T23:59:00+00:00")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
# Values that look like what the fields hold, but wrong: the mutations most likely to slip
# through validation and break what comes after.
tricky_text = st.sampled_from([
    "", " ", "0", "-1", "nan", "9999-12-31T23:59:00+00:00", "0001-01-01T00:00:00+00:00",
    "2025-12-03T16:30:00", "2025-12-03T16:30:00+25:00", "2025-12-03", "Mars/Olympus",
    "../../etc/passwd", "Africa", "UTC", "\x00", "é" * 300, "<script>", "{{ 7*7 }}",
    "2025-12-03T16:30:17+01:00", "+14:00", "ar", "de",
]) | st.text(max_size=40)
# Any instant from year 1 to 9999 at any offset: the ends overflow date arithmetic.
offsets = st.integers(-14 * 60 + 1, 14 * 60 - 1).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m)))
any_time = st.builds(lambda t, tz: t.replace(tzinfo=tz).isoformat(),
                     st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(
                         9999, 12, 30)).map(lambda t: t.replace(second=0, microsecond=0)),
                     offsets)
edge_time = st.sampled_from(["9999-12-31T23:59:00+00:00", "9999-12-31T23:59:00-14:00",
                             "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+14:00"])
tricky = (json_values | tricky_text | any_time | edge_time
          | st.integers(min_value=-(2**63), max_value=2**63))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with one to three fields replaced by something else, or dropped."""
    event = _copy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(event)
        if not paths:
            break
        *parent_path, last = draw(st.sampled_from(paths))
        parent: Any = event
        for step in parent_path:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            parent.pop(last, None)
        else:
            parent[last] = draw(tricky)
    return event


def _bytes_of(event: Any) -> bytes:
    return json.dumps(event).encode()


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Valid bytes truncated, or with some bytes overwritten."""
    if draw(st.booleans()):
        return data[: draw(st.integers(0, len(data)))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


any_input = st.one_of(
    st.binary(max_size=300),
    json_values.map(_bytes_of),
    st.sampled_from(VALID_INPUTS).flatmap(mutated).map(_bytes_of),
    st.sampled_from(VALID_INPUTS).map(_bytes_of).flatmap(damaged_bytes),
)


def _record(topic: str, value: bytes) -> InputRecord:
    return InputRecord(topic=topic, partition=0, offset=7, key=CENTRE.encode(), value=value,
                       timestamp=1_764_000_000_000)


def _assert_is_dead_letter(error: EventError | None) -> None:
    assert isinstance(error, EventError)
    assert isinstance(error.kind, str)
    assert error.kind
    assert str(error)


@FUZZ
@given(st.sampled_from(TOPICS), any_input)
@example(str(Topic.BOOKINGS), b"")
@example(str(Topic.BOOKINGS), b"\xff\xfe")
@example(str(Topic.OUTAGES_BY_CENTRE), _bytes_of(VALID_INPUTS[6]))
@example(str(Topic.CENTRES), _bytes_of(AFRICA))
def test_the_scheduler_parses_anything_into_an_event_or_a_dead_letter(
    topic: str, value: bytes
) -> None:
    record = _record(topic, value)
    parsed = parse(record)
    assert parsed.record == record
    if parsed.event is None:
        _assert_is_dead_letter(parsed.error)
        row = deadletter_row(record, parsed.error, NOW)  # type: ignore[arg-type]
        assert json.loads(row.value)["data"]["error_class"] == parsed.error.kind  # type: ignore[union-attr]
    else:
        assert parsed.error is None
        assert parsed.event.type.startswith("visa.")


def _topic_for(event: Any) -> str:
    """The topic the scheduler reads an event of this type from (outages: routed)."""
    kind = event.get("type") if isinstance(event, dict) else None
    topic = TOPIC_OF_TYPE.get(kind, Topic.BOOKINGS) if isinstance(kind, str) else Topic.BOOKINGS
    return str(Topic.OUTAGES_BY_CENTRE if topic == Topic.OUTAGES else topic)


ROUTED_INPUTS = [{**e, "subject": CENTRE} if e["type"].startswith("visa.outage") else e
                 for e in VALID_INPUTS]


def _calendar(centre_id: str) -> CentreState:
    """A centre with slots and a booking of a family of one, as the pipeline would hold it."""
    state = CentreState(centre_id)
    if centre_id == CENTRE:
        for setup in ROUTED_INPUTS[:4]:
            event = parse(_record(_topic_for(setup), _bytes_of(setup))).event
            assert event is not None
            process(state, event, CONFIG)
    return state


@FUZZ
@given(st.sampled_from(ROUTED_INPUTS).flatmap(mutated))
@example(AFRICA)
@example(YEAR_9999)
@example(YEAR_1)
@example(HUGE_NOTICE)
@example(LATE_TIME)
def test_an_event_the_parser_accepts_is_folded_and_planned_without_error(
    event: dict[str, Any],
) -> None:
    parsed = parse(_record(_topic_for(event), _bytes_of(event)))
    if parsed.event is None:
        _assert_is_dead_letter(parsed.error)
        return
    state = _calendar(centre_of(parsed.event))
    process(state, parsed.event, CONFIG)


@st.composite
def odd_variables(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request whose free-form variables (strings) say odd things."""
    event = _copy(VALID_REQUEST)
    variables = event["data"]["variables"]
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([*variables, "extra"]))
        if draw(st.integers(0, 4)) == 0:
            variables.pop(key, None)
        else:
            variables[key] = draw(tricky_text | any_time | edge_time)
    event["data"]["language"] = draw(st.sampled_from(["fr", "ar", "en"]))
    event["data"]["template"] = draw(st.sampled_from(["appointment_rescheduled",
                                                      "appointment_unplaced"]))
    return event


notifier_input = st.one_of(
    st.binary(max_size=300),
    json_values.map(_bytes_of),
    mutated(VALID_REQUEST).map(_bytes_of),
    odd_variables().map(_bytes_of),
    damaged_bytes(_bytes_of(VALID_REQUEST)),
)


@FUZZ
@given(notifier_input)
@example(_bytes_of(VALID_REQUEST))
@example(_bytes_of(REQUEST_AFRICA))
@example(_bytes_of(REQUEST_9999))
@example(b"[" * 100_000 + b"]" * 100_000)  # RecursionError left the parser
def test_the_notifier_parses_anything_into_deliveries_or_a_dead_letter(value: bytes) -> None:
    try:
        event = parse_event(value, NOTIFICATION_ADAPTER)
    except EventError as exc:
        error = exc
    else:
        deliveries = plan_deliveries(event.data, NOW, RENDERER.render, DISPATCH)
        assert deliveries  # one per channel: to send, or failed with the reason
        for d in deliveries:
            assert d.request is not None or d.error
        return
    _assert_is_dead_letter(error)
    letter = deadletter_event(topic=str(Topic.NOTIFICATIONS), partition=0, offset=7, key=None,
                              value=value, error=error, service="notifier",
                              source="reslot/notifier", at=NOW)
    assert letter.data.error_class == error.kind
