"""The applicant's page over real HTTP, on a real store and a real broker: the link checked
(tampered 403, expired 410, guessing past the limit 429 but a good link still good, old
secret still good), the page in the booking's language and the centre's time, the three
answers published with derived ids (read back from the broker), CSRF refused, and the
scheduler's answers shown from reply_outcomes."""

import html as markup
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.common.ids import derived_id
from tests.integration.web_harness import (
    OLD_SECRET,
    Served,
    form_page,
    one_moved_offer,
    served_front,
)
from tests.webstore import at, iso

pytestmark = pytest.mark.integration
OFFER = str(uuid.UUID(int=1))
CENTRE = "capago-alger"


@pytest.fixture
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with served_front(kafka, tmp_path) as front:
        await one_moved_offer(front.rows, OFFER)
        yield front


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as c:
        yield c


def shown(response: httpx.Response) -> str:
    """The page's text as a reader sees it (the template escapes quotes)."""
    return markup.unescape(response.text)


async def ids_published(served: Served) -> list[str]:
    return [e["id"] for e in await served.published() if e["data"]["offer_id"] == OFFER]


async def test_the_page_shows_the_offer_in_french_and_the_centres_time(
        served: Served, client: httpx.AsyncClient) -> None:
    page = await client.get(f"/r/{served.token(OFFER)}")
    assert page.status_code == 200
    html = shown(page)
    assert '<html lang="fr">' in html
    assert "Capago Alger" in html
    assert "Bab Ezzouar, Alger" in html
    assert "lundi 2 mars 2026 à 14 h 00" in html  # the old time, Algiers
    assert "mardi 3 mars 2026 à 10 h 00" in html  # the new time
    assert "Merci de répondre avant le lundi 2 mars 2026 à 9 h 00" in html
    for action in ("/confirm", "/change", "/decline"):
        assert f'action="/r/{served.token(OFFER)}{action}"' in html
    # the alternatives: allowed now, nearest the original slot, the current one left out
    assert html.count('name="slot"') == 3
    assert html.index(iso(at(2, 10)) or "") < html.index(iso(at(3, 11)) or "")
    assert '<script src="/static/reply.js" defer></script>' in html
    assert "reslot_csrf=" in page.headers["set-cookie"]
    assert "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    policy = page.headers["content-security-policy"]
    for part in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                 "form-action 'self'", "connect-src 'self'", "frame-ancestors 'none'",
                 "base-uri 'none'"):
        assert part in policy
    script = await client.get("/static/reply.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


async def test_arabic_is_right_to_left_and_english_reads_english(
        served: Served, client: httpx.AsyncClient) -> None:
    await served.rows.booking("B-1", at(3, 10), language="ar")
    html = shown(await client.get(f"/r/{served.token(OFFER)}"))
    assert '<html lang="ar" dir="rtl">' in html
    assert "أؤكد هذا الموعد الجديد" in html
    assert "الثلاثاء 3 مارس 2026، الساعة 10:00" in html
    await served.rows.booking("B-1", at(3, 10), language="en")
    html = shown(await client.get(f"/r/{served.token(OFFER)}"))
    assert "Tuesday 3 March 2026 at 10:00" in html
    assert "I confirm the new time" in html


async def test_tampered_expired_and_rotated_links(served: Served,
                                                  client: httpx.AsyncClient) -> None:
    token = served.token(OFFER)
    body, mac = token.split(".")
    tampered = await client.get(f"/r/{body}.{mac[:-2]}AA")
    assert tampered.status_code == 403
    for words in ("Ce lien n'est pas valide", "هذا الرابط غير صالح", "This link is not valid"):
        assert words in shown(tampered)
    assert "Capago" not in shown(tampered)
    assert "Bab Ezzouar" not in shown(tampered)
    expired = await client.get(f"/r/{served.token(OFFER, expires=at(1, 8))}")
    assert expired.status_code == 410
    assert "This link has expired" in shown(expired)
    assert "Capago" not in shown(expired)
    rotated = await client.get(f"/r/{served.token(OFFER, secret=OLD_SECRET)}")
    assert rotated.status_code == 200  # signed with the secret being retired: still good
    elsewhere = await client.get(f"/r/{served.token(OFFER, secret='not-ours')}")
    assert elsewhere.status_code == 403


async def test_guessing_links_is_limited_per_address(served: Served,
                                                     client: httpx.AsyncClient) -> None:
    for n in range(3):  # link_guess_limit = 3
        assert (await client.get(f"/r/guess{n}.AAAA")).status_code == 403
    refused = await client.get("/r/guess3.AAAA")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Too many attempts" in shown(refused)
    # a link we signed is never refused for its address's guesses: applicants behind one
    # proxy or carrier NAT share an address, and one of them must not lock the others out
    assert (await client.get(f"/r/{served.token(OFFER)}")).status_code == 200
    served.clock.now = served.clock.now.replace(hour=10)  # the window has passed
    assert (await client.get("/r/guess4.AAAA")).status_code == 403


async def test_a_form_without_our_csrf_token_is_refused_and_nothing_published(
        served: Served, client: httpx.AsyncClient) -> None:
    token = served.token(OFFER)
    await client.get(f"/r/{token}")  # the nonce cookie, but no token
    forged = await client.post(f"/r/{token}/confirm", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert "This form has expired" in shown(forged)
    _, csrf = await form_page(client, f"/r/{token}")
    async with httpx.AsyncClient(base_url=served.base) as stranger:  # no cookie
        refused = await stranger.post(f"/r/{token}/confirm", data={"csrf": csrf})
    assert refused.status_code == 403
    assert await ids_published(served) == []


async def test_confirm_publishes_one_event_and_shows_the_schedulers_answer(
        served: Served, client: httpx.AsyncClient) -> None:
    token = served.token(OFFER)
    _, csrf = await form_page(client, f"/r/{token}")
    first = await client.post(f"/r/{token}/confirm", data={"csrf": csrf})
    second = await client.post(f"/r/{token}/confirm", data={"csrf": csrf})  # double click
    event_id = derived_id("reply", OFFER, "confirmed")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"/r/{token}?event={event_id}"
    events = [e for e in await served.published() if e["data"]["offer_id"] == OFFER]
    assert {e["id"] for e in events} == {event_id}  # the same event, twice at most
    assert events[0]["type"] == "visa.offer.confirmed.v1"
    assert events[0]["source"] == "reslot/web"
    assert events[0]["subject"] == CENTRE
    assert events[0]["data"] == {"offer_id": OFFER, "booking_id": "B-1", "centre_id": CENTRE,
                                 "channel": "web"}

    waiting = await client.get(first.headers["location"])
    assert "Confirmation en cours" in shown(waiting)
    assert '<noscript><meta http-equiv="refresh"' in shown(waiting)
    answer = await client.get(f"/r/{token}/answer", params={"event": event_id})
    assert answer.json() == {"state": "pending", "reason": "",
                             "page": f"/r/{token}?event={event_id}"}

    await served.rows.outcome(event_id, OFFER, "accepted")  # the scheduler folds it
    await served.rows.offer("B-1", OFFER, at(2, 14), at(3, 10), at(2, 9), state="confirmed",
                            channel="web", answered_at=at(1, 9))
    assert (await client.get(f"/r/{token}/answer", params={"event": event_id})).json()[
        "state"] == "accepted"
    done = shown(await client.get(first.headers["location"]))
    assert "Votre rendez-vous est confirmé : mardi 3 mars 2026 à 10 h 00." in done
    assert 'action="' not in done  # nothing left to answer

    # the link again later (a replayed link): the page says what stands; a replayed form
    # publishes nothing new
    again = await client.post(f"/r/{token}/confirm", data={"csrf": csrf})
    assert again.headers["location"] == f"/r/{token}"
    assert "Votre rendez-vous est confirmé" in shown(await client.get(f"/r/{token}"))
    assert set(await ids_published(served)) == {event_id}


async def test_change_is_checked_then_published_and_a_refusal_offers_fresh_times(
        served: Served, client: httpx.AsyncClient) -> None:
    token = served.token(OFFER)
    _, csrf = await form_page(client, f"/r/{token}")
    await served.rows.fill(at(2, 10), 1)  # taken since the page was drawn
    taken = await client.post(f"/r/{token}/change", data={"csrf": csrf, "slot": iso(at(2, 10))})
    assert taken.status_code == 409
    assert "cet horaire vient d'être pris" in shown(taken)
    assert iso(at(2, 10)) not in shown(taken)
    assert iso(at(3, 11)) in shown(taken)  # fresh choices
    assert await ids_published(served) == []

    sent = await client.post(f"/r/{token}/change",
                             data={"csrf": csrf, "slot": iso(at(3, 11))},
                             headers={"Accept": "application/json"})
    event_id = derived_id("reply", OFFER, "changed", iso(at(3, 11)) or "")
    assert sent.json() == {"event_id": event_id,
                           "answer": f"/r/{token}/answer?event={event_id}",
                           "page": f"/r/{token}?event={event_id}"}
    [event] = [e for e in await served.published() if e["id"] == event_id]
    assert event["type"] == "visa.offer.changed.v1"
    assert event["data"]["slot_start"].startswith("2026-03-03T10:00:00")  # 11:00 in Algiers

    # the scheduler refused it (someone else got there first): say so, choose again
    await served.rows.fill(at(3, 11), 1)
    await served.rows.outcome(event_id, OFFER, "refused", "slot_taken", "the slot is full")
    answer = await client.get(f"/r/{token}/answer", params={"event": event_id})
    assert answer.json()["state"] == "refused"
    assert answer.json()["reason"] == "slot_taken"
    refused = shown(await client.get(f"/r/{token}?event={event_id}"))
    assert "cet horaire vient d'être pris" in refused
    assert iso(at(4, 9)) in refused
    assert iso(at(3, 11)) not in refused
    assert 'action="/r/' in refused  # the offer stands: answer again


async def test_an_accepted_change_shows_the_new_time_on_the_old_link(
        served: Served, client: httpx.AsyncClient) -> None:
    token = served.token(OFFER)
    event_id = derived_id("reply", OFFER, "changed", iso(at(3, 11)) or "")
    new_offer = str(uuid.UUID(int=2))
    await served.rows.offer("B-1", new_offer, at(3, 10), at(3, 11), None, state="confirmed",
                            channel="web", answers=OFFER)  # the scheduler replaced the row
    await served.rows.outcome(event_id, OFFER, "accepted")
    page = shown(await client.get(f"/r/{token}?event={event_id}"))
    assert "Votre nouvel horaire est confirmé : mardi 3 mars 2026 à 11 h 00." in page
    assert 'action="' not in page


async def test_decline_cancel_or_call_me(served: Served, client: httpx.AsyncClient) -> None:
    token = served.token(OFFER)
    _, csrf = await form_page(client, f"/r/{token}")
    for wants in ("call_me", "cancel"):
        posted = await client.post(f"/r/{token}/decline", data={"csrf": csrf, "wants": wants})
        assert posted.status_code == 303
    events = {e["id"]: e for e in await served.published()}
    call_me = events[derived_id("reply", OFFER, "declined", "call_me")]
    assert call_me["type"] == "visa.offer.declined.v1"
    assert call_me["data"]["wants"] == "call_me"
    assert events[derived_id("reply", OFFER, "declined", "cancel")]["data"]["wants"] == "cancel"
    await served.rows.offer("B-1", OFFER, at(2, 14), at(3, 10), at(2, 9), state="declined",
                            wants="call_me", channel="web")
    assert "Le centre va vous appeler." in shown(await client.get(f"/r/{token}"))


async def test_superseded_held_and_late_offers(served: Served,
                                               client: httpx.AsyncClient) -> None:
    token = served.token(OFFER)
    await served.rows.offer("B-1", OFFER, at(2, 14), at(3, 10), None, held=True)
    held = shown(await client.get(f"/r/{token}"))
    assert "n'est pas ouverte aux réponses" in held
    assert 'action="' not in held
    await served.rows.offer("B-1", OFFER, at(2, 14), at(3, 10), at(1, 8, 30))
    late = shown(await client.get(f"/r/{token}"))
    assert "Le délai de réponse est passé" in late
    await served.rows.offer("B-1", str(uuid.UUID(int=3)), at(2, 14), at(4, 9), at(2, 9))
    superseded = await client.get(f"/r/{token}")
    assert superseded.status_code == 200
    assert "A newer decision replaced this offer" in shown(superseded)
    assert "Capago" not in shown(superseded)


async def test_without_link_secrets_the_reply_routes_are_off(
        kafka: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with served_front(kafka, tmp_path, link_secrets=None) as front, \
            httpx.AsyncClient(base_url=front.base) as c:
        assert (await c.get(f"/r/{front.token(OFFER)}")).status_code == 404
    assert any("RESLOT_LINK_SECRETS is not set" in r.getMessage() for r in caplog.records)
