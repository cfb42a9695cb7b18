"""Fixtures shared by the integration tests of the notifier: the real sinks on loopback."""

from collections.abc import AsyncIterator

import pytest

from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink


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
