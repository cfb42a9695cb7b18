"""The web front in headless Chromium (Playwright), the scheduler's answers written into its
store by the test once it has read the reply from the broker: an applicant picks another
time and sees it confirmed without a reload; an Arabic applicant asks to be called; an
operator signs in, sees the call list, approves a held plan and exports the list. Nothing
the strict CSP refuses happens on any page. With RESLOT_SCREENSHOTS=docs the screenshots
of the Arabic page and of the console are kept there.

The same story through the real scheduler and notifier: test_web_fullstack.py."""

import csv
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import Topic
from tests.conftest import eventually
from tests.integration.browser import DESKTOP, PHONE, chromium, keep_screenshot, watch
from tests.integration.web_harness import Served, served_front
from tests.webstore import PLAN, at, iso

pytestmark = pytest.mark.integration
FR, AR, HELD = (str(uuid.UUID(int=n)) for n in (31, 32, 33))


@pytest.fixture
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with served_front(kafka, tmp_path) as front:
        rows = front.rows
        await rows.outage(at(2, 13), at(2, 17))
        await rows.slots([at(2, 10), at(2, 11), at(3, 9), at(3, 10), at(3, 11)], capacity=2)
        await rows.booking("B-FR", at(3, 10), name="Amine Benali")
        await rows.decision("B-FR", "moved", at(2, 14), at(3, 10), plan_id="plan-0")
        await rows.offer("B-FR", FR, at(2, 14), at(3, 10), at(2, 9), plan_id="plan-0")
        await rows.booking("B-AR", at(3, 11), name="ياسمين حداد", language="ar",
                           phone="+213555000222")
        await rows.decision("B-AR", "moved", at(2, 15), at(3, 11), plan_id="plan-0")
        await rows.offer("B-AR", AR, at(2, 15), at(3, 11), at(2, 9), phone="+213555000222",
                         plan_id="plan-0")
        await rows.plan(PLAN, held=True, displaced=2, moved=1, unplaced=1)
        await rows.booking("B-H", at(3, 9), name="Karim Mansouri")
        await rows.decision("B-H", "moved", at(2, 16), at(3, 9), reason="next_days")
        await rows.offer("B-H", HELD, at(2, 16), at(3, 9), None, held=True)
        await rows.booking("W-H", at(2, 16, 30), name="Nadia Saidi")
        await rows.decision("W-H", "unplaced", at(2, 16, 30), reason="no_capacity_in_horizon")
        yield front


async def the_reply(served: Served, offer_id: str) -> dict[str, Any]:
    async def published() -> dict[str, Any] | None:
        found = [e for e in await served.published() if e["data"]["offer_id"] == offer_id]
        return found[-1] if found else None
    event: dict[str, Any] = await eventually(published, timeout=15)
    return event


async def test_applicants_answer_and_an_operator_reviews(served: Served, tmp_path: Path,
                                                         ) -> None:
    rows = served.rows
    async with chromium() as browser:
        # -- a French applicant picks another time ----------------------------------------
        page = await browser.new_page(viewport=PHONE)
        errors = watch(page)
        await page.goto(f"{served.base}/r/{served.token(FR)}")
        assert await page.inner_text("#new-time") == "mardi 3 mars 2026 à 10 h 00"
        await page.evaluate("window.stillTheSamePage = true")
        await page.check(f"input[name=slot][value='{iso(at(3, 9))}']")
        chosen = await page.input_value("input[name=slot]:checked")
        await page.click("#pick")
        await page.wait_for_selector("#said.wait")  # sent, waiting for the scheduler
        event = await the_reply(served, FR)
        assert event["type"] == "visa.offer.changed.v1"
        assert dt.datetime.fromisoformat(event["data"]["slot_start"]) == \
            dt.datetime.fromisoformat(chosen)
        # the scheduler folds it: a new offer, confirmed, replaces the row; the answer is in
        new_offer = str(uuid.UUID(int=34))
        await rows.offer("B-FR", new_offer, at(3, 10), at(3, 9), None, state="confirmed",
                         channel="web", plan_id="plan-r", answers=FR)
        await rows.outcome(event["id"], FR, "accepted")
        await page.wait_for_selector("#said.ok")
        assert await page.inner_text("#said") == \
            "Votre nouvel horaire est confirmé : mardi 3 mars 2026 à 9 h 00."
        assert await page.evaluate("window.stillTheSamePage") is True  # no full reload
        assert await page.locator("form").count() == 0
        assert errors == []

        # -- an Arabic applicant asks to be called ------------------------------------------
        page = await browser.new_page(viewport=PHONE, locale="ar-DZ")
        errors = watch(page)
        await page.goto(f"{served.base}/r/{served.token(AR)}")
        assert await page.get_attribute("html", "dir") == "rtl"
        assert await page.get_attribute("html", "lang") == "ar"
        assert await page.inner_text("#new-time") == "الثلاثاء 3 مارس 2026، الساعة 11:00"
        await keep_screenshot(page, "reply-page-ar.png")
        await page.evaluate("window.stillTheSamePage = true")
        await page.click("#call-me")
        event = await the_reply(served, AR)
        assert event["type"] == "visa.offer.declined.v1"
        assert event["data"]["wants"] == "call_me"
        await rows.offer("B-AR", AR, at(2, 15), at(3, 11), at(2, 9), state="declined",
                         wants="call_me", channel="web", phone="+213555000222",
                         answered_at=at(1, 9), plan_id="plan-0")
        await rows.outcome(event["id"], AR, "accepted")
        await page.wait_for_selector("#said.ok")
        assert await page.inner_text("#said") == "سيتصل بك المركز."
        assert await page.evaluate("window.stillTheSamePage") is True
        assert errors == []

        # -- an operator signs in, reviews, approves, exports -------------------------------
        page = await browser.new_page(viewport=DESKTOP, accept_downloads=True)
        errors = watch(page)
        await page.goto(f"{served.base}/ops")
        assert page.url.endswith("/ops/login")
        await page.fill("input[name=name]", "nadia")
        await page.fill("input[name=password]", "pass-nadia")
        await page.click("#sign-in")
        await page.wait_for_url(f"{served.base}/ops")
        assert await page.inner_text("#operator") == "nadia"
        plan = page.locator(f"#plan-{PLAN}")
        assert "Karim Mansouri" in await plan.inner_text()
        assert "Tue 3 Mar 2026 09:00" in await plan.inner_text()
        answers = await page.inner_text("#answers")  # both applicants' answers
        assert "ياسمين حداد" in answers
        assert "declined: call me" in answers
        assert "Amine Benali" in answers
        assert "confirmed" in answers
        await keep_screenshot(page, "console.png")
        await page.click(f"#approve-{PLAN}")
        await page.wait_for_selector("#approval-sent")
        approvals = [e for e in await served.published(Topic.OPS)
                     if e["type"] == "visa.plan.approved.v1"]
        assert [(e["data"]["plan_id"], e["data"]["by"]) for e in approvals] == [(PLAN, "nadia")]

        await page.click("text=Call list")
        calls = page.locator("#calls")
        assert "ياسمين حداد" in await calls.inner_text()  # declined, asked to be called
        assert "Nadia Saidi" in await calls.inner_text()  # waiting
        assert "Amine Benali" not in await calls.inner_text()  # confirmed: nobody to call
        async with page.expect_download() as download:
            await page.click("#export-csv")
        saved = tmp_path / "calls.csv"
        await (await download.value).save_as(saved)
        exported = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
        assert {r["booking"]: r["why"] for r in exported} == {
            "B-AR": "asked to be called", "W-H": "waiting for a place"}
        assert errors == []
