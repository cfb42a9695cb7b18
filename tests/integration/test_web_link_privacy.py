"""What a reply link shows, and to whom, over real HTTP on a real store and broker: after a
change, the old link shows the holder's own new offer, never another applicant's offer in
the same slot; a time no calendar holds is refused, not a server error; a page that fails
logs its route, never the link."""

import html as markup
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.common.ids import derived_id
from tests.integration.web_harness import Served, form_page, one_moved_offer, served_front
from tests.webstore import at, iso

pytestmark = pytest.mark.integration
OFFER = str(uuid.UUID(int=1))  # the holder's offer, replaced by a change
STRANGER_OFFER = str(uuid.UUID(int=0xA))


@pytest.fixture
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with served_front(kafka, tmp_path) as front:
        await one_moved_offer(front.rows, OFFER, capacity=2)
        yield front


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as c:
        yield c


async def test_after_a_change_the_old_link_never_shows_another_applicants_offer(
        served: Served, client: httpx.AsyncClient) -> None:
    rows = served.rows
    # A stranger ("A-0" sorts first) moved into 3 March 11:00 and confirmed, in Arabic.
    await rows.booking("A-0", at(3, 11), name="Stranger", language="ar")
    await rows.decision("A-0", "moved", at(2, 15), at(3, 11))
    await rows.offer("A-0", STRANGER_OFFER, at(2, 15), at(3, 11), at(2, 9), state="confirmed")
    # The holder changed her offer into the same slot; the scheduler replaced her row.
    event_id = derived_id("reply", OFFER, "changed", iso(at(3, 11)) or "")
    await rows.offer("B-1", str(uuid.UUID(int=2)), at(3, 10), at(3, 11), None,
                     state="confirmed", channel="web", answers=OFFER)
    await rows.outcome(event_id, OFFER, "accepted")
    page = markup.unescape((await client.get(f"/r/{served.token(OFFER)}")).text)
    assert '<html lang="fr">' in page  # the holder's language, not the stranger's
    assert "A-0" not in page
    assert "B-1" in page
    assert "lundi 2 mars 2026 à 15 h 00" not in page  # the stranger's original time


async def test_a_change_not_yet_stored_shows_no_other_applicants_offer(
        served: Served, client: httpx.AsyncClient) -> None:
    """The change is accepted but the holder's new offer is not in the store: the page says
    the offer was replaced, and names nobody (the stranger's offer fills the slot)."""
    rows = served.rows
    await rows.booking("A-0", at(3, 11), name="Stranger", language="ar")
    await rows.offer("A-0", STRANGER_OFFER, at(2, 15), at(3, 11), at(2, 9), state="confirmed")
    await rows.offer("B-1", str(uuid.UUID(int=3)), at(2, 14), at(4, 9), None,
                     state="open")  # a later decision replaced the holder's offer
    await rows.outcome(derived_id("reply", OFFER, "changed", iso(at(3, 11)) or ""), OFFER,
                       "accepted")
    page = await client.get(f"/r/{served.token(OFFER)}")
    assert page.status_code == 200
    assert "A-0" not in markup.unescape(page.text)


@pytest.mark.parametrize("slot", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
async def test_a_change_to_a_time_at_the_edge_of_the_calendar_is_refused(
        served: Served, client: httpx.AsyncClient, slot: str) -> None:
    token = served.token(OFFER)
    _, csrf = await form_page(client, f"/r/{token}")
    posted = await client.post(f"/r/{token}/change", data={"csrf": csrf, "slot": slot})
    assert 400 <= posted.status_code < 500, posted.text


async def test_a_failing_reply_page_logs_its_route_never_the_link(
        served: Served, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    """The link is the applicant's key to the page: a log reader could answer for them."""
    async with served.rows.engine.begin() as conn:  # the store fails under the page
        await conn.execute(sa.text("DROP TABLE centres"))
    token = served.token(OFFER)
    with caplog.at_level(logging.ERROR, logger="reslot.web"):
        failed = await client.get(f"/r/{token}")
    assert failed.status_code == 500
    logged = [r.getMessage() for r in caplog.records if r.name == "reslot.web"]
    assert "GET /r/{token} failed" in logged
    assert not any(token in line for line in logged)
