"""One id scheme for every event Reslot derives: uuid5 of what caused it.

The same cause always gives the same id, so a replay re-publishes identical events and
consumers dedupe by id (DESIGN.md, consistency without broker transactions).
"""

import uuid

NAMESPACE = uuid.UUID("5f1c1a52-8f0e-4d0a-9a57-6c7e5b0b9e10")


def derived_id(*parts: str) -> str:
    """The id of the event caused by `parts` (its kind and the ids of its causes)."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))
