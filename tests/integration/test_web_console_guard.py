"""The console's door over real HTTP: wrong credentials in the Authorization header count
as guesses like wrong passwords on the login form (their own limit, apart from reply links),
and credentials or a form nonce no browser would send are refused, never a server error;
a pin to a time at the calendar's edge is refused too."""

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.web_harness import Served, csrf_of, form_page, served_front
from tests.webstore import at

pytestmark = pytest.mark.integration
CENTRE = "capago-alger"


@pytest.fixture
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with served_front(kafka, tmp_path) as front:
        await front.rows.outage(at(2, 13), at(2, 17))
        await front.rows.booking("W-1", at(2, 14), name="Yasmine Haddad")
        await front.rows.decision("W-1", "unplaced", at(2, 14), reason="no_capacity_in_horizon")
        yield front


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


async def test_wrong_basic_credentials_are_limited_like_the_login_form(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base) as c:
        for n in range(3):  # link_guess_limit = 3
            wrong = await c.get("/ops/calls.csv", headers=basic("nadia", f"guess-{n}"))
            assert wrong.status_code == 401
        blocked = await c.get("/ops/calls.csv", headers=basic("nadia", "pass-nadia"))
        assert blocked.status_code == 429  # blind: even the right password, for a while
        assert int(blocked.headers["retry-after"]) > 0
        bearer = await c.get("/ops/calls.csv", headers={"Authorization": "Bearer nope"})
        assert bearer.status_code == 429
        # the console's guesses are its own: reply links from this address still work
        assert (await c.get(f"/r/{served.token('00000000-0000-0000-0000-000000000001')}")
                ).status_code != 429
        served.clock.now = served.clock.now.replace(hour=10)  # the window has passed
        ok = await c.get("/ops/calls.csv", headers=basic("nadia", "pass-nadia"))
        assert ok.status_code == 200


async def test_credentials_no_browser_sends_are_refused_not_a_server_error(
        served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base) as c:
        for header in (b"Basic \xe9", b"Basic ====", b"Basic " + base64.b64encode(b"\xff:x")):
            refused = await c.get("/ops/calls.csv", headers={b"Authorization": header})
            assert refused.status_code == 401, header


async def test_a_form_nonce_with_letters_outside_ascii_is_refused_not_a_server_error(
        served: Served) -> None:
    cookie = {b"Cookie": b"reslot_csrf=" + b"\xe9" * 20}  # alphanumeric to Python, not to us
    async with httpx.AsyncClient(base_url=served.base) as c:
        page = await c.get("/ops/login", headers=cookie)
        c.cookies.clear()  # only the nonce the browser holds: ours
        posted = await c.post("/ops/login", headers=cookie, data={
            "name": "nadia", "password": "pass-nadia", "csrf": csrf_of(page.text)})
        assert page.status_code == 200
        assert posted.status_code == 403


@pytest.mark.parametrize("local", ["0001-01-01T00:00", "9999-12-31T23:59"])
async def test_a_pin_to_a_time_at_the_edge_of_the_calendar_is_refused(
        served: Served, local: str) -> None:
    async with httpx.AsyncClient(base_url=served.base, auth=("nadia", "pass-nadia")) as c:
        _, csrf = await form_page(c, f"/ops/pin/{CENTRE}/W-1")
        posted = await c.post(f"/ops/pin/{CENTRE}/W-1", data={"csrf": csrf, "local": local})
        assert posted.status_code in (409, 422), posted.text
