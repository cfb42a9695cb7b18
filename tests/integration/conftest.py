"""Fixtures shared by the integration tests: a store on each database, the real sinks."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from tests.conftest import new_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A store URL on SQLite, then on a fresh PostgreSQL database (started only for it)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    async with new_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    """An SMTP server (aiosmtpd) that records what it receives."""
    sink = await SmtpSink().start()
    yield sink
    await sink.stop()


@pytest.fixture
async def sms() -> AsyncIterator[SmsSink]:
    """An SMS gateway over HTTP that wants the bearer token `s3cret`."""
    sink = await SmsSink(token="s3cret").start()
    yield sink
    await sink.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A notifier store on SQLite in the test's own directory."""
    return f"sqlite+aiosqlite:///{tmp_path}/notifier.db"
