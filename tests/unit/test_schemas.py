"""The contract: strict validation with clear reasons, and committed schemas in sync."""

import json

import pytest

from schemas import export
from schemas.envelope import EventError, parse_event
from schemas.events import ANY_ADAPTER, INPUT_ADAPTER
from tests.builders import at, booking, centre, line, outage, raw, slots


def _kind(text: str | bytes) -> str:
    with pytest.raises(EventError) as caught:
        parse_event(text, INPUT_ADAPTER)
    return caught.value.kind


def test_valid_booking_parses_to_frozen_model() -> None:
    event = parse_event(line("visa.booking.created.v1", booking("b1", at(3, 16))), INPUT_ADAPTER)
    assert event.data.booking_id == "b1"
    assert event.centre_key == "capago-alger"
    with pytest.raises(Exception, match="frozen"):
        event.data.booking_id = "b2"


@pytest.mark.parametrize(("mutate", "kind", "words"), [
    (lambda e: e.update(type="visa.booking.exploded.v1"), "unknown_type", "unknown event type"),
    (lambda e: e["data"].update(slot_start="2025-12-03T16:00:00"), "schema_invalid",
     "timezone"),
    (lambda e: e["data"].update(service=7), "schema_invalid", "service"),
    (lambda e: e["data"].update(category="vip"), "schema_invalid", "category"),
    (lambda e: e.update(subject="capago-oran"), "subject_mismatch", "differs"),
    (lambda e: e.pop("specversion"), "not_cloudevent", "CloudEvent"),
])
def test_invalid_booking_rejected_with_reason(mutate, kind, words) -> None:  # type: ignore[no-untyped-def]
    event = raw("visa.booking.created.v1", booking("b1", at(3, 16)))
    mutate(event)
    with pytest.raises(EventError, match=words) as caught:
        parse_event(json.dumps(event), INPUT_ADAPTER)
    assert caught.value.kind == kind


def test_outage_ending_before_it_starts_is_rejected() -> None:
    text = line("visa.outage.declared.v1", outage("o1", at(3, 19), at(3, 15)), subject="")
    with pytest.raises(EventError, match=r"ends .* before"):
        parse_event(text, INPUT_ADAPTER)


def test_negative_capacity_is_rejected() -> None:
    text = line("visa.slots.published.v1", slots([at(3, 9)], capacity=-1))
    assert _kind(text) == "schema_invalid"


def test_string_for_integer_is_not_coerced() -> None:
    event = raw("visa.slots.published.v1", slots([at(3, 9)]))
    event["data"]["slots"][0]["capacity"] = "4"
    assert _kind(json.dumps(event)) == "schema_invalid"


def test_garbage_bytes_are_invalid_json() -> None:
    assert _kind(b"\xff\xfe{not json") == "invalid_json"


@pytest.mark.parametrize("booking_id", ["B-\x00-1", "B-\n-1", "B-\x7f"])
def test_an_id_with_a_control_character_is_refused(booking_id: str) -> None:
    """PostgreSQL refuses a NUL in text: stored, the write failed for ever and stalled the
    partition, the scheduler taking it for a store outage."""
    assert _kind(line("visa.booking.created.v1", booking(booking_id, at(3, 9)))) == \
        "schema_invalid"


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("name", "Capago\x00Alger", "schema_invalid"),  # PostgreSQL refuses a NUL in text
    ("name", "Capago\nAlger", "schema_invalid"),  # a name is one line
    ("name", "C" * 201, "schema_invalid"),  # 500,000 characters were accepted
    ("address", "Lot 12\nDely Ibrahim", None),  # an address may span lines
    ("address", "Lot 12\x00", "schema_invalid"),
])
def test_a_centre_is_named_in_one_line_of_a_length_a_message_carries(
        field: str, value: str, kind: str | None) -> None:
    text = line("visa.centre.registered.v1", {**centre(), field: value})
    if kind is None:
        assert parse_event(text, INPUT_ADAPTER).data.address == value
    else:
        assert _kind(text) == kind


def test_json_nested_deeper_than_the_stack_is_refused_not_raised() -> None:
    """json.loads raised RecursionError, which left the parser: the record stalled its
    partition instead of going to the dead-letter topic."""
    assert _kind(b"[" * 100_000 + b"]" * 100_000) == "invalid_json"


def test_an_integer_of_thousands_of_digits_is_refused_not_raised() -> None:
    text = line("visa.slots.published.v1", slots([at(3, 9)]))
    huge = text.replace('"capacity": 2', '"capacity": ' + "9" * 5000)
    assert huge != text
    assert _kind(huge) in ("invalid_json", "schema_invalid")


def test_output_events_parse_with_any_adapter() -> None:
    assert ANY_ADAPTER.validate_json(line(
        "visa.notification.failed.v1",
        {"notification_id": "n1", "channel": "sms", "attempts": 1, "error": "no_contact"},
        subject="capago-alger")).data.error == "no_contact"


def test_committed_schemas_match_the_models() -> None:
    for path, text in export.rendered().items():
        assert path.exists(), f"{path} missing: run make schemas"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run make schemas"


def test_every_field_is_described() -> None:
    for event_type, schema in export.json_schemas().items():
        for name, definition in schema.get("$defs", {}).items():
            for field, spec in definition.get("properties", {}).items():
                assert "description" in spec, f"{event_type}: {name}.{field} has no description"
