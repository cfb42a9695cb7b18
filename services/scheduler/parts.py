"""A fetched batch cut after each record that may plan, so that plans are written (and their
messages relayed) one after another instead of all at the end.

A lane applies a batch in memory and writes it in one transaction (consumer.py). When the
batch holds the routed copies of a portal-wide outage, that is 50 plans and some 200,000
events in one transaction: nobody is told before the last centre is planned, and the write
of the first plans waits for the last one. Cut after each outage record, each part is a
batch of its own: the Applier writes one while it plans the next (the database driver
works in its own thread), and the relay publishes the first centre's messages while the
others are still being planned. On bench (f) (100,000 displaced over 50 centres, every
event published to a broker) the first events are out after about 0.5 s instead of 6-7
s, and the others follow centre by centre; the last comes within 10 % of the
one-transaction run, either side (9.0 against 9.2 s in one run): relaying, writing and
planning at once contend for one GIL, and the solver for the cores.

A cut never separates the records of one key (a centre's records carry its id as key): what
the pipeline decides once per centre and batch (the waiting list's re-plan, advice,
retirement) is decided as it would be on the whole batch. A record whose key does not name
its centre may see its centre settled twice, which any fetch boundary can do already.
"""

from collections.abc import Sequence
from typing import TypeVar

from schemas.topics import Topic
from services.scheduler.parsing import Record

R = TypeVar("R", bound=Record)

# Topics whose records may plan: an outage's own (one centre), and its routed copies.
PLANNING_TOPICS = frozenset({Topic.OUTAGES, Topic.OUTAGES_BY_CENTRE})


def plan_parts(records: Sequence[R]) -> list[list[R]]:
    """`records` in order, cut after each record of a planning topic where no key has
    records on both sides of the cut; one part (the whole) when there is no such place."""
    last_of = {r.key: i for i, r in enumerate(records)}
    parts: list[list[R]] = []
    start, reach = 0, -1
    for i, r in enumerate(records):
        reach = max(reach, last_of[r.key])  # the last record of any key seen so far
        if r.topic in PLANNING_TOPICS and reach == i and i + 1 < len(records):
            parts.append(list(records[start:i + 1]))
            start = i + 1
    parts.append(list(records[start:]))
    return parts
