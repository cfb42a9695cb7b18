"""One id scheme for every event Reslot derives: uuid5 of what caused it.

The same cause always gives the same id, so a replay re-publishes identical events and
consumers dedupe by id (DESIGN.md, consistency without broker transactions).
"""

import hashlib
import uuid

NAMESPACE = uuid.UUID("5f1c1a52-8f0e-4d0a-9a57-6c7e5b0b9e10")
_PREFIX = NAMESPACE.bytes


def derived_id(*parts: str) -> str:
    """The id of the event caused by `parts` (its kind and the ids of its causes):
    uuid.uuid5(NAMESPACE, "|".join(parts)), written out directly: a portal-wide outage
    derives a few hundred thousand ids, and the uuid.UUID object was half their cost."""
    raw = bytearray(hashlib.sha1(_PREFIX + "|".join(parts).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
