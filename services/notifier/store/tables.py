"""The notifier's tables: deliveries, the outbox of their status events, superseded ids.

A delivery is one (notification_id, channel), the primary key, hence unique: the claim that
makes sending exactly once. Its status event is written to the outbox in the transaction
that decides it, and deleted once published.
"""

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out; SQLite stores them naive (in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = MetaData()

deliveries = Table(
    "notifier_deliveries",
    metadata,
    Column("notification_id", String(200), primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("state", String(16), nullable=False),  # sending | delivered | failed | superseded
    Column("booking_id", String(200), nullable=False),
    Column("centre_id", String(100), nullable=False),
    # The request (personal data) while it is needed to send; erased once decided.
    Column("request", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    # An attempt counted and its outcome not yet recorded: it may be on the wire.
    Column("in_flight", Boolean, nullable=False, default=False, server_default=false()),
    Column("error", Text, nullable=True),
    Column("not_before", UtcDateTime, nullable=False),  # quiet hours, backoff
    Column("owner", String(200), nullable=True),  # instance sending it, while its lease lasts
    Column("lease_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Index("ix_notifier_deliveries_due", "state", "not_before"),
)

# Status events to publish, in `seq` order, by the instance that wrote them (`owner`), or by
# any instance once they are older than a lease (their writer died before relaying them).
outbox = Table(
    "notifier_outbox",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("owner", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("centre_id", String(100), nullable=False),  # the Kafka key
    Column("notification_id", String(200), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("value", LargeBinary, nullable=False),  # the CloudEvent, JSON
    Index("ix_notifier_outbox_owner", "owner", "seq"),
)

# Notification ids a later request of the same booking replaced (CONTRACT v1.1 `supersedes`):
# kept so that a replaced request arriving late is never sent either.
superseded = Table(
    "notifier_superseded",
    metadata,
    Column("notification_id", String(200), primary_key=True),
    Column("booking_id", String(200), nullable=False),
    Column("by_notification_id", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
