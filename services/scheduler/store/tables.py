"""The scheduler's tables: centre state, stored input offsets, the outbox, outage routes,
the origins applied from internal topics and who owns each partition."""

import sqlalchemy as sa

metadata = sa.MetaData()

centres = sa.Table(
    "centres", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("info", sa.Text, nullable=False),
)
slots = sa.Table(
    "slots", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("service", sa.String(50), primary_key=True),
    sa.Column("start", sa.String(32), primary_key=True),
    sa.Column("duration_min", sa.Integer, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
)
bookings = sa.Table(
    "bookings", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("booking_id", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("service", sa.String(50), nullable=False),
    sa.Column("slot_start", sa.String(32)),
    sa.Column("group_id", sa.String(200)),
    sa.Column("category", sa.String(10), nullable=False),
    sa.Column("travel_date", sa.String(10)),
    sa.Column("applicant", sa.Text),
)
outages = sa.Table(
    "outages", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("outage_id", sa.String(200), primary_key=True),
    sa.Column("record", sa.Text, nullable=False),
)
decisions = sa.Table(
    "decisions", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("booking_id", sa.String(200), primary_key=True),
    sa.Column("outage_id", sa.String(200), nullable=False),
    sa.Column("plan_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("at_start", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(50), nullable=False),
    sa.Column("to_start", sa.String(32)),
    sa.Column("original_start", sa.String(32)),  # v1.1: the slot a restore gives back
    sa.Column("notification_id", sa.String(64)),  # v1.1: the message the next supersedes
    sa.Column("decided_at", sa.String(32)),  # v1.1: the decision's time (the call list)
    sa.Index("ix_decisions_plan", "plan_id"),
)
conflicts = sa.Table(
    "conflicts", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("service", sa.String(50), primary_key=True),
    sa.Column("start", sa.String(32), primary_key=True),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("booked", sa.Integer, nullable=False),
)
# The position of every input partition whose messages are applied: the source of truth
# for where consumption resumes (Kafka's committed offsets are informative only).
offsets = sa.Table(
    "input_offsets", metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("offset", sa.BigInteger, nullable=False),
)
outbox = sa.Table(
    "outbox", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("partition", sa.Integer, nullable=False, index=True),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("headers", sa.Text),  # JSON [[name, value], ...]: trace context, else NULL
    sa.Column("to_partition", sa.Integer),  # internal topics: the owner's partition
)
routes = sa.Table(
    "outage_routes", metadata,
    sa.Column("outage_id", sa.String(200), primary_key=True),
    sa.Column("centres", sa.Text, nullable=False),
    sa.Column("pending", sa.Text, nullable=False),
    sa.Column("declared", sa.Text),  # v1.1: the declaration as it stands (JSON CloudEvent)
)
plans = sa.Table(
    "plans", metadata,
    sa.Column("plan_id", sa.String(64), primary_key=True),
    sa.Column("centre_id", sa.String(100), nullable=False, index=True),
    sa.Column("outage_id", sa.String(200), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)
# Per internal topic partition and origin partition: the last record applied from that
# origin (its offset, and which copy of it). A copy published again by the relay (a crash
# between publish and delete) is at or before it, and skipped.
origins = sa.Table(
    "internal_origins", metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("origin_topic", sa.String(200), primary_key=True),
    sa.Column("origin_partition", sa.Integer, primary_key=True),
    sa.Column("origin_offset", sa.BigInteger, nullable=False),
    sa.Column("origin_index", sa.Integer, nullable=False),
)
# The fencing token of every partition: raised by each instance that is assigned it. A
# batch is written only if the epochs it was applied under are still the stored ones, so an
# instance that lost a partition (paused past its session) can no longer write its centres.
partition_owners = sa.Table(
    "partition_owners", metadata,
    sa.Column("partition", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("epoch", sa.BigInteger, nullable=False),
)
# v1.1, per centre: what the status page shows of the waiting list (waiting is also the
# size of the derived index, stored here so the page needs no scan of the decisions).
calendar = sa.Table(
    "centre_calendar", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("waiting", sa.Integer, nullable=False),
    sa.Column("placed_from_waiting", sa.Integer, nullable=False),
    sa.Column("restored", sa.Integer, nullable=False),
)
# v1.1: the latest capacity advice per centre and outage (the latest by time stands).
advice = sa.Table(
    "capacity_advice", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("outage_id", sa.String(200), primary_key=True),
    sa.Column("advice_id", sa.String(64), nullable=False),
    sa.Column("time", sa.String(32), nullable=False),
    sa.Column("basis", sa.String(64), nullable=False),
    sa.Column("waiting", sa.Integer, nullable=False),
    sa.Column("extra", sa.Text, nullable=False),  # JSON [{date, service, places}, ...]
)
# v1.1 replies: the standing offer of every booking rescheduled (its last
# visa.appointment.rescheduled.v1) and its answer. Written by the scheduler's fold with the
# rest of the centre's state; read by the web front (the reply page, the call list).
offers = sa.Table(
    "offers", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("booking_id", sa.String(200), primary_key=True),
    sa.Column("offer_id", sa.String(64), nullable=False, unique=True),
    sa.Column("plan_id", sa.String(64), nullable=False),
    sa.Column("outage_id", sa.String(200), nullable=False),
    sa.Column("from_start", sa.String(32), nullable=False),  # the slot held before the offer
    sa.Column("to_start", sa.String(32), nullable=False),  # the slot offered
    sa.Column("reply_by", sa.String(32)),  # NULL while its plan is held for review
    # open | confirmed | declined | changed: see domain/offers.py
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("channel", sa.String(10)),  # web | sms | timeout, once answered
    sa.Column("wants", sa.String(10)),  # call_me | cancel, when declined
    sa.Column("answered_at", sa.String(32)),
    sa.Column("held", sa.Boolean, nullable=False),  # its plan awaits an operator's approval
    sa.Column("phone", sa.String(20), index=True),  # an inbound SMS finds offers by sender
    # Added by the scheduler for its own bookkeeping (the web front may ignore them):
    sa.Column("answer_id", sa.String(200)),  # the reply event that answered it
    sa.Column("answers", sa.String(64)),  # made by the applicant's change: the offer changed
    sa.Column("timeout_at", sa.String(32)),  # when the scheduler sent its timeout answer
    sa.Index("ix_offers_due", "state", "reply_by"),
)
# v1.1: what the scheduler did with every reply and ops event it folded; the reply page and
# the console poll it by the id of the event they published.
reply_outcomes = sa.Table(
    "reply_outcomes", metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("centre_id", sa.String(100), nullable=False, index=True),
    sa.Column("offer_id", sa.String(200), nullable=False),  # or a pin's or call's booking id,
    sa.Column("outcome", sa.String(10), nullable=False),  # an approval's plan id; accepted
    sa.Column("reason", sa.String(20), nullable=False),  # | refused; a RefusalReason or ""
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    # The booking it concerns, if one: its rows leave with the booking (retirement.py).
    sa.Column("booking_id", sa.String(200)),
)
# v1.1: messages of decisions whose plan awaits review, released by its approval.
held_notifications = sa.Table(
    "held_notifications", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("booking_id", sa.String(200), primary_key=True),
    sa.Column("plan_id", sa.String(64), nullable=False),
    sa.Column("notification", sa.Text, nullable=False),  # NotificationRequested data, JSON
)
# v1.1: the calls operators logged from the call list (visa.call.logged.v1), one row each.
call_log = sa.Table(
    "call_log", metadata,
    sa.Column("centre_id", sa.String(100), primary_key=True),
    sa.Column("booking_id", sa.String(200), primary_key=True),
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(10), nullable=False),  # reached | no_answer | resolved
    sa.Column("note", sa.Text, nullable=False),
)
# Tables whose rows leave by other columns than their primary key (store/replies.py,
# delete_keys): a booking's reply outcomes, when the booking leaves the calendar.
DELETED_BY: dict[str, tuple[sa.Column[str], ...]] = {
    reply_outcomes.name: (reply_outcomes.c.centre_id, reply_outcomes.c.booking_id),
}
# Columns added after a table was first created: added in place when a store opens.
LATER_COLUMNS: tuple[tuple[sa.Table, sa.Column[str]], ...] = (
    (outbox, outbox.c.headers),
    (outbox, outbox.c.to_partition),
    (decisions, decisions.c.original_start),
    (decisions, decisions.c.notification_id),
    (routes, routes.c.declared),
    (decisions, decisions.c.decided_at),
    (offers, offers.c.answer_id),
    (offers, offers.c.answers),
    (reply_outcomes, reply_outcomes.c.booking_id),
    (offers, offers.c.timeout_at),
)
