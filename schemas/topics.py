"""Topic names of CONTRACT.md and which event types travel on each."""

from enum import StrEnum


class Topic(StrEnum):
    CENTRES = "visa.centres.v1"
    CAPACITY = "visa.capacity.v1"
    BOOKINGS = "visa.bookings.v1"
    OUTAGES = "visa.outages.v1"
    RESCHEDULES = "visa.reschedules.v1"
    NOTIFICATIONS = "visa.notifications.v1"
    NOTIFICATION_STATUS = "visa.notification-status.v1"
    DEADLETTER = "visa.deadletter.v1"
    REPLIES = "visa.replies.v1"  # v1.1: applicants' answers to offers (reply front, scheduler)
    OPS = "visa.ops.v1"  # v1.1: operators' acts from the console
    # Internal: outage events re-published once per named centre, keyed by centre id, so the
    # owner of every centre sees them (DESIGN.md, Partitions). Not part of the public contract.
    OUTAGES_BY_CENTRE = "reslot.outages-by-centre.v1"
    # Internal: an input read on a partition other than its owner's (an upstream producer
    # that does not partition with murmur2), forwarded to the owner's partition, keyed by
    # centre id (outage id for an outage not yet routed). Not part of the public contract.
    INPUTS_BY_CENTRE = "reslot.inputs-by-centre.v1"


DEADLETTER = Topic.DEADLETTER
OUTAGE_ROUTED = Topic.OUTAGES_BY_CENTRE

# Topics the scheduler folds into centre state; all keyed by centre id.
INPUT_TOPICS: tuple[Topic, ...] = (
    Topic.CENTRES,
    Topic.CAPACITY,
    Topic.BOOKINGS,
    Topic.OUTAGES_BY_CENTRE,
    Topic.INPUTS_BY_CENTRE,
    Topic.REPLIES,  # v1.1: applicants' answers, and the scheduler's own timeout answers
    Topic.OPS,  # v1.1: operators' acts
)

# The scheduler's own topics, written only by it, with an explicit partition.
INTERNAL_TOPICS: tuple[Topic, ...] = (Topic.OUTAGES_BY_CENTRE, Topic.INPUTS_BY_CENTRE)

TOPIC_OF_TYPE: dict[str, Topic] = {
    "visa.centre.registered.v1": Topic.CENTRES,
    "visa.slots.published.v1": Topic.CAPACITY,
    "visa.slots.withdrawn.v1": Topic.CAPACITY,
    "visa.booking.created.v1": Topic.BOOKINGS,
    "visa.booking.cancelled.v1": Topic.BOOKINGS,
    "visa.booking.moved.v1": Topic.BOOKINGS,
    "visa.outage.declared.v1": Topic.OUTAGES,
    "visa.outage.revised.v1": Topic.OUTAGES,
    "visa.outage.lifted.v1": Topic.OUTAGES,
    "visa.appointment.rescheduled.v1": Topic.RESCHEDULES,
    "visa.appointment.unplaced.v1": Topic.RESCHEDULES,
    "visa.plan.completed.v1": Topic.RESCHEDULES,
    "visa.capacity.advice.v1": Topic.RESCHEDULES,
    "visa.capacity.conflict.v1": Topic.RESCHEDULES,
    "visa.notification.requested.v1": Topic.NOTIFICATIONS,
    "visa.notification.delivered.v1": Topic.NOTIFICATION_STATUS,
    "visa.notification.failed.v1": Topic.NOTIFICATION_STATUS,
    "visa.deadletter.v1": Topic.DEADLETTER,
    "visa.offer.confirmed.v1": Topic.REPLIES,
    "visa.offer.declined.v1": Topic.REPLIES,
    "visa.offer.changed.v1": Topic.REPLIES,
    "visa.offer.refused.v1": Topic.RESCHEDULES,
    "visa.appointment.cancelled.v1": Topic.RESCHEDULES,
    "visa.plan.approved.v1": Topic.OPS,
    "visa.booking.pinned.v1": Topic.OPS,
    "visa.call.logged.v1": Topic.OPS,
}
