"""Connecting to the scheduler's store, and bringing an older store's schema up to date."""

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.scheduler.store import tables as t


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a crash of the process loses no commit; a power cut may undo the
            # last ones, their input offsets with them, so those inputs are applied again
            # and give the same events (ids derived from them), which consumers drop.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # hide_parameters: a database error's text (logged on retry) must not carry applicants'
    # names from the statement's parameters.
    return create_async_engine(url, pool_size=5, pool_pre_ping=True, hide_parameters=True)


def add_later_columns(conn: sa.Connection) -> None:
    """Stores made before a column existed get it (nullable: no rewrite of the table)."""
    inspector = sa.inspect(conn)
    for table, column in t.LATER_COLUMNS:
        if column.name not in {c["name"] for c in inspector.get_columns(table.name)}:
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


# Held while creating the tables: two instances starting on an empty PostgreSQL database
# would otherwise both CREATE TABLE, and one fail on a unique violation in pg_type.
SCHEMA_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext('reslot-scheduler-schema'))")
