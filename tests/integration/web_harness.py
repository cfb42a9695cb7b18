"""The whole web front served by uvicorn on a real store and a real broker, for tests; the
scheduler's part is played by rows written into its store (tests/webstore.py)."""

import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from schemas.topics import Topic
from services.common import links
from services.common.kafka import ensure_topics
from services.common.settings import KafkaSettings, Settings
from services.web.front import web_front
from tests.integration.status_harness import serving
from tests.kafka_helpers import read_all
from tests.webstore import Rows, at, open_store

SECRET, OLD_SECRET = "s3cret-link-new", "s3cret-link-old"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Clock:
    """The front's clock, moved by the test (never the wall clock)."""

    now: dt.datetime = field(default_factory=lambda: at(1, 9))

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Served:
    base: str
    rows: Rows
    clock: Clock
    settings: Settings
    notifier: AsyncEngine  # the notifier's store, where the call list reads deliveries

    def token(self, offer_id: str, expires: dt.datetime | None = None,
              secret: str = SECRET) -> str:
        return links.sign(offer_id, expires or at(10, 0), secret)

    async def published(self, topic: str = Topic.REPLIES) -> list[dict[str, Any]]:
        return await read_all(self.settings.kafka.bootstrap_servers or "", topic)


def web_settings(bootstrap: str, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka": KafkaSettings(bootstrap_servers=bootstrap), "database_url": database_url,
        "link_secrets": SecretStr(f"{SECRET},{OLD_SECRET}"), "link_guess_limit": 3,
        "web_secret": SecretStr("s3cret-web"), "public_url": "http://visa.example",
        "console_token": SecretStr("s3cret-console"),
        "console_users": SecretStr("nadia:pass-nadia,omar:pass-omar"),
        "sms_inbound_token": SecretStr("s3cret-sms"), "alternatives": 3}
    values.update(extra)
    return Settings(**values)


@contextlib.asynccontextmanager
async def served_front(bootstrap: str, tmp: Path, **extra: Any) -> AsyncIterator[Served]:
    """The front on a fresh SQLite store (the notifier's beside it) and the broker."""
    settings = web_settings(bootstrap, f"sqlite+aiosqlite:///{tmp / 'sched.db'}", **extra)
    await ensure_topics(settings, [Topic.REPLIES, Topic.OPS, Topic.NOTIFICATIONS])
    store = await open_store(settings.database_url)
    clock = Clock()
    notifier = create_async_engine(settings.notifier_db())
    try:
        rows = Rows(store.engine)
        await rows.centre()
        app = web_front(settings, store.engine, CollectorRegistry(), clock=clock)
        async with serving(app) as base:
            yield Served(base, rows, clock, settings, notifier)
    finally:
        await notifier.dispose()
        await store.close()


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def form_page(client: httpx.AsyncClient, url: str) -> tuple[httpx.Response, str]:
    """A page and the CSRF token of its forms (the client keeps the nonce cookie)."""
    page = await client.get(url)
    return page, csrf_of(page.text)


async def one_moved_offer(rows: Rows, offer_id: str, capacity: int = 1) -> None:
    """B-1, moved by an outage on 2 March from 14:00 to 3 March 10:00, its offer open until
    2 March 9:00, and four slots to choose from."""
    await rows.outage(at(2, 13), at(2, 17))
    await rows.booking("B-1", at(3, 10))
    await rows.decision("B-1", "moved", at(2, 14), at(3, 10))
    await rows.offer("B-1", offer_id, at(2, 14), at(3, 10), reply_by=at(2, 9))
    await rows.slots([at(2, 10), at(3, 10), at(3, 11), at(4, 9)], capacity=capacity)
