"""Table of deliveries; (notification_id, channel) is the primary key, hence unique."""

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
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
    Column("state", String(16), nullable=False),  # sending | delivered | failed
    Column("booking_id", String(200), nullable=False),
    Column("centre_id", String(100), nullable=False),
    # The request (personal data) while it is needed to send; erased once decided.
    Column("request", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("not_before", UtcDateTime, nullable=False),  # quiet hours, backoff
    Column("owner", String(200), nullable=True),  # instance sending it, while its lease lasts
    Column("lease_until", UtcDateTime, nullable=True),
    Column("reported", Boolean, nullable=False, default=False),  # status event published
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Index("ix_notifier_deliveries_due", "state", "not_before"),
    Index("ix_notifier_deliveries_reported", "reported", "finished_at"),
)
