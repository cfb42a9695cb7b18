"""Fan-out of outage events to every centre they name (DESIGN.md, Partitions).

A portal-wide outage arrives once, keyed by outage id; the owner of each named centre
must see it once. The router re-publishes it per centre, keyed by centre id. It remembers
each outage's centres so a revision or lift that names none reaches the same centres, and
holds a revision or lift that arrives before the declaration until the declaration comes.
"""

from dataclasses import dataclass, field
from typing import Any

from schemas import data as d
from schemas.envelope import CloudEvent


@dataclass
class Route:
    centres: tuple[str, ...] = ()
    pending: list[CloudEvent[Any]] = field(default_factory=list)


def route(routes: dict[str, Route], event: CloudEvent[Any]) -> list[CloudEvent[Any]]:
    """The per-centre copies of `event` to publish now (subject = centre id)."""
    data = event.data
    known = routes.setdefault(data.outage_id, Route())
    if isinstance(data, d.OutageDeclared):
        first = not known.centres
        known.centres = tuple(dict.fromkeys(known.centres + data.centre_ids))
        held, known.pending = (known.pending, []) if first else ([], known.pending)
        return _copies(event, known.centres) + [c for h in held for c in _copies(h, known)]
    if not known.centres and not getattr(data, "centre_ids", None):
        known.pending.append(event)  # before its declaration, with no centres: hold it
        return []
    targets = known.centres
    if isinstance(data, d.OutageRevised) and data.centre_ids is not None:
        targets = tuple(dict.fromkeys(known.centres + data.centre_ids))
        known.centres = targets  # a centre dropped still gets this copy: it ends there
    return _copies(event, targets)


def _copies(event: CloudEvent[Any], centres: "tuple[str, ...] | Route") -> list[CloudEvent[Any]]:
    names = centres.centres if isinstance(centres, Route) else centres
    return [event.model_copy(update={"subject": centre}) for centre in names]
