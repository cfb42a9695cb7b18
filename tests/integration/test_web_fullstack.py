"""The whole loop in headless Chromium, every part real: the scheduler (services/scheduler
create_app), the notifier (services/notifier start_notifier), the web front, the local
broker and an SMTP sink. An outage displaces three applicants at two centres; Oran's plans
are held for review. The French applicant opens the link of the e-mail she received, picks
another time and sees it confirmed; the Arabic applicant declines and asks to be called;
an operator signs in, sees both answers, approves Oran's held plan (whose e-mail only then
goes out) and exports the call list.

It needs the scheduler's fold of replies and review (issue 13, helper S's branch) and the
notifier's templates that put `reply_url` in the messages: it passes once both are merged.
"""

import asyncio
import contextlib
import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.common.clock import ShiftedClock
from services.common.kafka import ensure_topics
from services.common.local_broker import free_port
from services.common.publish import publish
from services.common.settings import KafkaSettings, Settings
from services.notifier.app import start_notifier
from services.notifier.smtp_sink import SmtpSink
from services.scheduler.store.sql import make_engine
from services.web.front import web_front
from services.web.server import serve
from tests import builders as b
from tests.conftest import eventually, tables_exist
from tests.integration.browser import DESKTOP, PHONE, chromium, watch
from tests.integration.scheduler_harness import running_scheduler
from tests.integration.status_harness import consumed, messages_of

pytestmark = pytest.mark.integration
ALGER, ORAN = "capago-alger", "capago-oran"
OUTAGE = "france-visas-2025-12-03"
START = b.ANNOUNCED + dt.timedelta(hours=1)  # every service's clock runs from here


def applicant(name: str, language: str, email: str) -> dict[str, Any]:
    return {"name": name, "language": language, "email": email}


def scenario() -> tuple[list[str], list[str]]:
    day = [b.at(d, h, m) for d in (3, 4) for h in range(9, 17) for m in (0, 30)]
    calendars = [
        b.line("visa.centre.registered.v1", {**b.centre(ALGER), "name": "Capago Alger"}),
        b.line("visa.centre.registered.v1", {**b.centre(ORAN), "name": "Capago Oran",
                                             "city": "Oran", "address": "Es Senia, Oran"}),
        b.line("visa.slots.published.v1", b.slots(day, capacity=2, centre_id=ALGER)),
        b.line("visa.slots.published.v1", b.slots(day, capacity=2, centre_id=ORAN)),
        b.line("visa.booking.created.v1", b.booking(
            "A-FR", b.at(3, 14), centre_id=ALGER,
            applicant=applicant("Amine Benali", "fr", "amine@example.dz"))),
        b.line("visa.booking.created.v1", b.booking(
            "A-AR", b.at(3, 15), centre_id=ALGER,
            applicant=applicant("ياسمين حداد", "ar", "yasmine@example.dz"))),
        b.line("visa.booking.created.v1", b.booking(
            "O-1", b.at(3, 14), centre_id=ORAN,
            applicant=applicant("Karim Mansouri", "fr", "karim@example.dz"))),
    ]
    outages = [b.line("visa.outage.declared.v1",
                      b.outage(OUTAGE, b.at(3, 13), b.at(3, 17), centre_ids=(ALGER, ORAN)),
                      subject="")]
    return calendars, outages


@contextlib.asynccontextmanager
async def everything(kafka: str, tmp: Path, smtp: SmtpSink) -> AsyncIterator[Settings]:
    """Scheduler, notifier and web front on one broker; the web front at `public_url`."""
    port = free_port()
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=kafka),
        database_url=f"sqlite+aiosqlite:///{tmp / 'scheduler.db'}", partitions=2,
        smtp_host="127.0.0.1", smtp_port=smtp.port, http_port=port,
        public_url=f"http://127.0.0.1:{port}", link_secrets=SecretStr("s3cret-link"),
        review_centres=ORAN, console_users=SecretStr("nadia:pass-nadia"),
        web_secret=SecretStr("s3cret-web"))
    await ensure_topics(settings)
    clock = ShiftedClock(START)
    async with running_scheduler(settings, clock=clock) as metrics:
        engine = make_engine(settings.database_url)
        notifier = await start_notifier(settings, clock=ShiftedClock(START))
        stop = asyncio.Event()
        try:
            await eventually(lambda: tables_exist(engine), timeout=30)
            front = web_front(settings, engine, metrics.registry, clock=clock.now)
            server = asyncio.create_task(serve(front, port, stop, host="127.0.0.1"))

            async def up() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    async with httpx.AsyncClient() as c:
                        return (await c.get(f"{settings.public_url}/healthz")).is_success
                return False

            await eventually(up, timeout=15, interval=0.1)
            calendars, outages = scenario()
            await publish(settings, messages_of(calendars))

            async def read() -> bool:
                return consumed(metrics) >= len(calendars)

            await eventually(read, timeout=30)
            await publish(settings, messages_of(outages))
            yield settings
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server, timeout=10)
            await notifier.stop()
            await engine.dispose()


async def mail_to(smtp: SmtpSink, address: str, timeout: float = 45) -> str:
    """The text of the first e-mail `address` received."""
    async def received() -> str | None:
        for mail in smtp.messages:
            if address in mail.recipients:
                return mail.part("text/plain")
        return None
    found: str = await eventually(received, timeout=timeout)
    return found


def link_in(text: str, settings: Settings) -> str:
    found = re.search(re.escape(settings.public_url) + r"/r/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", text)
    assert found, f"no reply link in the message:\n{text}"
    return found.group(0)


async def test_applicants_answer_from_their_email_and_an_operator_reviews(
        kafka: str, tmp_path: Path, smtp: SmtpSink) -> None:
    async with everything(kafka, tmp_path, smtp) as settings, chromium() as browser:
        # -- the French applicant picks another time from the link in her e-mail -----------
        link = link_in(await mail_to(smtp, "amine@example.dz"), settings)
        page = await browser.new_page(viewport=PHONE)
        errors = watch(page)
        await page.goto(link)
        before = await page.inner_text("#new-time")
        await page.evaluate("window.stillTheSamePage = true")
        await page.check("input[name=slot] >> nth=1")
        await page.click("#pick")
        await page.wait_for_selector("#said.ok", timeout=30_000)
        said = await page.inner_text("#said")
        assert said.startswith("Votre nouvel horaire est confirmé : ")
        assert before not in said
        assert await page.evaluate("window.stillTheSamePage") is True
        assert errors == []

        # -- the Arabic applicant declines and asks to be called ----------------------------
        link = link_in(await mail_to(smtp, "yasmine@example.dz"), settings)
        page = await browser.new_page(viewport=PHONE)
        errors = watch(page)
        await page.goto(link)
        assert await page.get_attribute("html", "dir") == "rtl"
        await page.click("#call-me")
        await page.wait_for_selector("#said.ok", timeout=30_000)
        assert await page.inner_text("#said") == "سيتصل بك المركز."
        assert errors == []

        # -- the operator: both answers, Oran's held plan approved, the call list ------------
        assert not [m for m in smtp.messages if "karim@example.dz" in m.recipients]
        page = await browser.new_page(viewport=DESKTOP, accept_downloads=True)
        errors = watch(page)
        await page.goto(f"{settings.public_url}/ops")
        await page.fill("input[name=name]", "nadia")
        await page.fill("input[name=password]", "pass-nadia")
        await page.click("#sign-in")
        await page.wait_for_selector("#answers")
        answers = await page.inner_text("#answers")
        assert "Amine Benali" in answers
        assert "ياسمين حداد" in answers
        assert "declined: call me" in answers
        held = page.locator("article.plan", has_text="Capago Oran")
        assert "Karim Mansouri" in await held.inner_text()
        await held.locator("form.approve button").click()
        await page.wait_for_selector("#approval-sent")
        await mail_to(smtp, "karim@example.dz")  # sent only now

        await page.click("text=Call list")
        assert "ياسمين حداد" in await page.inner_text("#calls")
        async with page.expect_download() as download:
            await page.click("#export-csv")
        saved = tmp_path / "calls.csv"
        await (await download.value).save_as(saved)
        exported = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
        assert {"A-AR": "asked to be called"}.items() <= \
            {r["booking"]: r["why"] for r in exported}.items()
        assert errors == []
