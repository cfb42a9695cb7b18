"""Reslot's event contract (../shared/CONTRACT.md) as pydantic models."""

from schemas.envelope import CloudEvent, EventError, parse_event
from schemas.topics import (
    DEADLETTER,
    INPUT_TOPICS,
    OUTAGE_ROUTED,
    TOPIC_OF_TYPE,
    Topic,
)

__all__ = [
    "DEADLETTER",
    "INPUT_TOPICS",
    "OUTAGE_ROUTED",
    "TOPIC_OF_TYPE",
    "CloudEvent",
    "EventError",
    "Topic",
    "parse_event",
]
