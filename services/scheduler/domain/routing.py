"""Fan-out of outage events to every centre they name (DESIGN.md, Partitions).

A portal-wide outage arrives once, keyed by outage id; the owner of each named centre
must see it once. The router re-publishes it per centre, keyed by centre id. It remembers
each outage's centres so a revision or lift that names none reaches the same centres, and
holds a revision or lift that arrives before the declaration until the declaration comes.

It also keeps the outage as it now stands (the declaration with every revision's window
and services): a revision that adds a centre first sends that centre the declaration, so
the centre gets the outage's own services, notice and declared time, not defaults.
"""

from dataclasses import dataclass, field
from typing import Any

from schemas import data as d
from schemas.envelope import CloudEvent


@dataclass
class Route:
    centres: tuple[str, ...] = ()
    pending: list[CloudEvent[Any]] = field(default_factory=list)
    declared: CloudEvent[Any] | None = None  # the declaration, revised windows applied


def route(routes: dict[str, Route], event: CloudEvent[Any]) -> list[CloudEvent[Any]]:
    """The per-centre copies of `event` to publish now (subject = centre id)."""
    data = event.data
    known = routes.setdefault(data.outage_id, Route())
    if isinstance(data, d.OutageDeclared):
        first = not known.centres
        known.centres = tuple(dict.fromkeys(known.centres + data.centre_ids))
        if known.declared is None:
            known.declared = event
        held, known.pending = (known.pending, []) if first else ([], known.pending)
        return _copies(event, known.centres) + [c for h in held for c in route(routes, h)]
    if not known.centres and not getattr(data, "centre_ids", None):
        known.pending.append(event)  # before its declaration, with no centres: hold it
        return []
    targets = known.centres
    added: tuple[str, ...] = ()
    if isinstance(data, d.OutageRevised):
        _revise(known, data)
        if data.centre_ids is not None:
            targets = tuple(dict.fromkeys(known.centres + data.centre_ids))
            added = tuple(c for c in data.centre_ids if c not in known.centres)
            known.centres = targets  # a centre dropped still gets this copy: it ends there
    declared = _declaration_for(known, targets) if added else []
    return [c for c in declared if c.subject in added] + _copies(event, targets)


def _revise(known: Route, data: d.OutageRevised) -> None:
    """Keep the stored declaration as the outage now stands."""
    if known.declared is None:
        return
    update: dict[str, Any] = {"start": data.start, "end": data.end}
    if data.services is not None:
        update["services"] = data.services
    revised = known.declared.data.model_copy(update=update)
    known.declared = known.declared.model_copy(update={"data": revised})


def _declaration_for(known: Route, centres: tuple[str, ...]) -> list[CloudEvent[Any]]:
    """The declaration as it stands, naming `centres`, for centres a revision adds."""
    if known.declared is None:
        return []  # declared with no centres known yet: the revision alone declares
    data = known.declared.data.model_copy(update={"centre_ids": centres})
    return _copies(known.declared.model_copy(update={"data": data}), centres)


def _copies(event: CloudEvent[Any], centres: tuple[str, ...]) -> list[CloudEvent[Any]]:
    return [event.model_copy(update={"subject": centre}) for centre in centres]
