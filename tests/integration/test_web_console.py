"""The operations console over real HTTP on a real store and broker: who may enter (token,
basic auth, proxy header, login form, nobody), review and approval, a pin checked against
the hard rules before it is published, the call list (page and CSV) and a call logged."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from schemas.topics import Topic
from services.common.ids import derived_id
from tests.integration.web_harness import Served, form_page, served_front
from tests.webstore import PLAN, at, iso, notifier_rows

pytestmark = pytest.mark.integration
CENTRE = "capago-alger"
OFFER = str(uuid.UUID(int=21))
BEARER = {"Authorization": "Bearer s3cret-console"}
HTML = {"Accept": "text/html"}


@pytest.fixture
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with served_front(kafka, tmp_path, console_proxy_header="X-Forwarded-Email") as f:
        await seed(f)
        yield f


async def seed(front: Served) -> None:
    rows, notifier = front.rows, front.notifier
    await rows.outage(at(2, 13), at(2, 17))
    await rows.plan(PLAN, held=True, displaced=2, moved=1, unplaced=1)
    await rows.slots([at(2, 10), at(2, 15), at(3, 10), at(3, 11)], capacity=1)
    await rows.booking("B-1", at(3, 10), name="Amine Benali")
    await rows.decision("B-1", "moved", at(2, 14), at(3, 10), reason="next_days",
                        notification_id="n-b1")
    await rows.offer("B-1", OFFER, at(2, 14), at(3, 10), None, held=True)
    await rows.booking("W-1", at(2, 14), name="Yasmine Haddad", phone="+213555000444",
                       language="ar")
    await rows.decision("W-1", "unplaced", at(2, 14), reason="no_capacity_in_horizon",
                        notification_id="n-w1")
    # another plan's bookings on the call list
    await rows.booking("D-1", at(3, 11), name="=cmd|' /C calc'!A0", phone="+213555000555")
    await rows.decision("D-1", "moved", at(2, 15), at(3, 11), plan_id="plan-2")
    await rows.offer("D-1", str(uuid.UUID(int=22)), at(2, 15), at(3, 11), at(2, 9),
                     state="declined", wants="call_me", answered_at=at(1, 8), plan_id="plan-2")
    await rows.booking("F-1", at(3, 11), name="Karim Failed", phone="+213555000666")
    await rows.decision("F-1", "moved", at(2, 15), at(3, 11), plan_id="plan-2",
                        notification_id="n-f1")
    await rows.booking("N-1", at(3, 11), name="Nour Nocontact", email=None, phone=None)
    await rows.decision("N-1", "moved", at(2, 16), at(3, 11), plan_id="plan-2",
                        notification_id="n-n1")
    await rows.booking("R-1", at(2, 14), name="Rania Resolved")
    await rows.decision("R-1", "unplaced", at(2, 14), plan_id="plan-2", notification_id="n-r1")
    await rows.call("R-1", "call-r1", at(1, 8), "resolved")  # after its reason: off the list
    await rows.booking("R-2", at(3, 11), name="Rachid Again")
    await rows.decision("R-2", "moved", at(2, 15), at(3, 11), plan_id="plan-2",
                        notification_id="n-r2")
    await rows.call("R-2", "call-r2", at(1, 7), "resolved")  # before a newer failure
    for notification, states, when in (
            ("n-b1", {"email": "delivered"}, at(1, 6)), ("n-w1", {"email": "delivered"}, at(1, 6)),
            ("n-f1", {"email": "failed", "sms": "failed"}, at(1, 6)),
            ("n-n1", {"email": "failed", "sms": "failed"}, at(1, 6)),
            ("n-r1", {"email": "delivered"}, at(1, 6)),
            ("n-r2", {"email": "failed", "sms": "failed"}, at(1, 7, 30))):
        await notifier_rows(notifier, notification, states, when)


async def test_who_may_enter(served: Served, kafka: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=served.base) as c:
        browser = await c.get("/ops", headers=HTML)
        assert browser.status_code == 303
        assert browser.headers["location"] == "/ops/login"
        script = await c.get("/ops/calls.csv")
        assert script.status_code == 401
        assert script.headers["www-authenticate"].startswith("Basic")
        assert (await c.get("/ops", headers=BEARER)).status_code == 200
        basic = await c.get("/ops", auth=("nadia", "pass-nadia"))
        assert basic.status_code == 200
        assert '<span class="who" id="operator">nadia</span>' in basic.text
        assert (await c.get("/ops", auth=("nadia", "pass-omar"))).status_code == 401
        proxied = await c.get("/ops", headers={"X-Forwarded-Email": "lina@centre.example"})
        assert "lina@centre.example" in proxied.text
        assert (await c.get("/ops", headers={"Authorization": "Bearer nope"})).status_code == 401
    async with served_front(kafka, tmp_path / "closed", console_token=None, console_users=None,
                            console_proxy_header=None) as closed, \
            httpx.AsyncClient(base_url=closed.base) as c:
        assert (await c.get("/ops", headers=BEARER)).status_code == 404
        assert (await c.get("/ops/login")).status_code == 404


async def test_the_login_form_keeps_the_operator_in_a_cookie_only_the_console_sees(
        served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base) as c:
        _, csrf = await form_page(c, "/ops/login")
        wrong = await c.post("/ops/login", data={"name": "nadia", "password": "x", "csrf": csrf})
        assert wrong.status_code == 401
        assert "Wrong name or password" in wrong.text
        assert "reslot_console" not in wrong.headers.get("set-cookie", "")
        ok = await c.post("/ops/login", data={"name": "omar", "password": "s3cret-console",
                                              "csrf": csrf})  # the console token, as password
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert cookie.startswith("reslot_console=")
        assert "path=/ops" in cookie
        assert "samesite=strict" in cookie.lower()
        assert "httponly" in cookie.lower()
        page = await c.get("/ops", headers=HTML)
        assert '<span class="who" id="operator">omar</span>' in page.text
        # the applicant's page never shows console data, whatever the browser holds
        reply = await c.get(f"/r/{served.token(OFFER)}", headers=BEARER)
        assert "operations console" not in reply.text
        assert "omar" not in reply.text
        assert (await c.get(f"/ops/r/{served.token(OFFER)}")).status_code == 404
        _, csrf = await form_page(c, "/ops")
        assert (await c.post("/ops/logout", data={"csrf": csrf})).status_code == 303
        assert (await c.get("/ops", headers=HTML)).status_code == 303


async def test_a_held_plan_is_a_draft_until_approved(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base, auth=("nadia", "pass-nadia")) as c:
        page, csrf = await form_page(c, "/ops")
        html = page.text
        assert f'id="plan-{PLAN}"' in html
        assert "draft" in html
        assert "Amine Benali" in html
        assert "Tue 3 Mar 2026 10:00" in html  # local: 09:00 UTC
        assert "Mon 2 Mar 2026 14:00" in html
        assert "no free slot in the horizon" in html
        approved = await c.post(f"/ops/plans/{PLAN}/approve", data={"csrf": csrf})
        assert approved.status_code == 303
        forged = await c.post(f"/ops/plans/{PLAN}/approve", data={"csrf": "forged"})
        assert forged.status_code == 403
        unknown = await c.post("/ops/plans/nope/approve", data={"csrf": csrf})
        assert unknown.status_code == 404
        [event] = await served.published(Topic.OPS)
        assert event["id"] == derived_id("approve", PLAN)
        assert event["type"] == "visa.plan.approved.v1"
        assert event["data"] == {"plan_id": PLAN, "centre_id": CENTRE, "by": "nadia"}
        # the scheduler applies it: the summary no longer held, who approved it kept
        await served.rows.plan(PLAN, held=False, approved_by="nadia")
        await served.rows.offer("B-1", OFFER, at(2, 14), at(3, 10), at(2, 9), held=False)
        after = (await c.get("/ops")).text
        assert 'class="pill ok">approved by nadia' in after
        assert f"/ops/plans/{PLAN}/approve" not in after


async def test_a_pin_is_checked_against_the_hard_rules_before_it_is_published(
        served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base, auth=("nadia", "pass-nadia")) as c:
        page, csrf = await form_page(c, f"/ops/pin/{CENTRE}/W-1")
        assert page.status_code == 200
        assert "waiting for a place" in page.text
        assert "Mon 2 Mar 2026 10:00" in page.text  # allowed: listed
        full = await c.post(f"/ops/pin/{CENTRE}/W-1",
                            data={"csrf": csrf, "slot": iso(at(3, 10))})  # B-1 holds it
        assert full.status_code == 409
        assert "Refused: the slot has 0 place(s) left for 1." in full.text
        typed = await c.post(f"/ops/pin/{CENTRE}/W-1",
                             data={"csrf": csrf, "local": "2026-03-02T15:00"})
        assert "Refused: the slot is inside an outage." in typed.text
        assert await served.published(Topic.OPS) == []

        pinned = await c.post(f"/ops/pin/{CENTRE}/W-1",
                              data={"csrf": csrf, "slot": iso(at(2, 10))})
        event_id = derived_id("pin", CENTRE, "W-1", "plan-1", iso(at(2, 10)) or "")
        assert pinned.status_code == 303
        assert pinned.headers["location"] == f"/ops/pin/{CENTRE}/W-1?event={event_id}"
        [event] = await served.published(Topic.OPS)
        assert event["id"] == event_id
        assert event["type"] == "visa.booking.pinned.v1"
        assert event["data"]["by"] == "nadia"
        assert event["data"]["slot_start"].startswith("2026-03-02T09:00:00")
        waiting = await c.get(pinned.headers["location"])
        assert "waiting for the scheduler" in waiting.text
        await served.rows.outcome(event_id, "W-1", "refused", "breaks_rule",
                                  "the slot has 0 place(s) left for 1")
        refused = await c.get(pinned.headers["location"])
        assert "The scheduler refused it (breaks_rule): the slot has 0 place(s)" in refused.text
        assert (await c.get(f"/ops/pin/{CENTRE}/nobody")).status_code == 404


async def test_the_call_list_and_its_csv(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base, auth=("nadia", "pass-nadia")) as c:
        page = await c.get("/ops/calls")
        exported = await c.get("/ops/calls.csv")
    rows = {r["booking"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert set(rows) == {"W-1", "D-1", "F-1", "N-1", "R-2"}
    assert rows["W-1"]["why"] == "waiting for a place"
    assert rows["W-1"]["name"] == "Yasmine Haddad"
    assert rows["W-1"]["phone"] == "+213555000444"
    assert rows["W-1"]["language"] == "ar"
    assert rows["D-1"]["why"] == "asked to be called"
    assert rows["D-1"]["name"].startswith("'=")  # no formula from a name in a spreadsheet
    assert rows["F-1"]["why"] == "every message failed"
    assert rows["N-1"]["why"] == "no e-mail and no phone, every message failed"
    assert rows["R-2"]["why"] == "every message failed"
    assert rows["R-2"]["last_call"] == "resolved by nadia"
    for booking in rows:
        assert f'data-booking="{booking}"' in page.text
    assert "Rania Resolved" not in page.text


async def test_a_call_is_logged_once_per_form(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base, headers=BEARER) as c:
        page, csrf = await form_page(c, "/ops/calls")
        attempt = page.text.split('name="attempt" value="', 1)[1].split('"', 1)[0]
        booking = page.text.split('name="booking_id" value="', 1)[1].split('"', 1)[0]
        form = {"csrf": csrf, "centre_id": CENTRE, "booking_id": booking, "attempt": attempt,
                "outcome": "resolved", "note": "called back, fine"}
        for _ in range(2):  # a double click
            logged = await c.post("/ops/calls/log", data=form)
            assert logged.status_code == 303
        assert (await c.post("/ops/calls/log", data={**form, "attempt": "x"})).status_code \
            == 422
    events = await served.published(Topic.OPS)
    assert {e["id"] for e in events} == {derived_id("call", CENTRE, booking, attempt)}
    assert events[0]["type"] == "visa.call.logged.v1"
    assert events[0]["data"] == {"booking_id": booking, "centre_id": CENTRE,
                                 "by": "console-token", "outcome": "resolved",
                                 "note": "called back, fine"}
