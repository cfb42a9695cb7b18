"""Inbound SMS replies over real HTTP, read back from a real broker: the four forms of yes,
a reply code picking one offer of a family, `2` answered with the link, anything else with
the help text in the booking's language, deduplicated by the inbound id; an unknown sender
gets nothing and is logged without its number."""

import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from schemas.events import ANY_ADAPTER
from schemas.topics import Topic
from services.common import links
from services.common.ids import derived_id
from tests.integration.web_harness import SECRET, Served, served_front
from tests.webstore import at

pytestmark = pytest.mark.integration
ALONE, ARABIC, FAMILY = "+213555000111", "+213555000222", "+213555000333"
O1, O2, O3, O4 = (str(uuid.UUID(int=n)) for n in (11, 12, 13, 14))
AUTH = {"Authorization": "Bearer s3cret-sms"}


@pytest.fixture
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with served_front(kafka, tmp_path) as front:
        rows = front.rows
        await rows.outage(at(2, 13), at(2, 17))
        for booking, offer, phone, language, group in (
                ("B-1", O1, ALONE, "fr", None), ("B-2", O2, ARABIC, "ar", None),
                ("F-1", O3, FAMILY, "en", "fam"), ("F-2", O4, FAMILY, "en", "fam")):
            await rows.booking(booking, at(3, 10), phone=phone, language=language,
                               group_id=group, name=f"Applicant {booking}")
            await rows.decision(booking, "moved", at(2, 14), at(3, 10), reason="next_days")
            await rows.offer(booking, offer, at(2, 14), at(3, 10), at(2, 9), phone=phone)
        yield front


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base, timeout=10, headers=AUTH) as c:
        yield c


async def sms(client: httpx.AsyncClient, sender: str, text: str, inbound: str) -> Any:
    answer = await client.post("/sms/inbound", json={"from": sender, "text": text,
                                                     "id": inbound})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("text", ["1", " ok ", "OUI", "نعم", "Oui.", "١"])
async def test_every_form_of_yes_confirms(served: Served, client: httpx.AsyncClient,
                                          text: str) -> None:
    assert await sms(client, ALONE, text, "in-1") == {"outcome": "confirmed", "published": 1}
    [event] = await served.published()
    assert event["id"] == derived_id("sms", "in-1", O1)
    assert event["type"] == "visa.offer.confirmed.v1"
    assert event["data"] == {"offer_id": O1, "booking_id": "B-1", "centre_id": "capago-alger",
                             "channel": "sms"}


async def test_the_same_inbound_message_twice_publishes_the_same_event(
        served: Served, client: httpx.AsyncClient) -> None:
    await sms(client, ALONE, "OK", "in-7")
    await sms(client, ALONE, "OK", "in-7")  # the gateway retried
    await sms(client, ALONE, "OK", "in-8")  # another message: another event
    ids = [e["id"] for e in await served.published()]
    assert ids.count(derived_id("sms", "in-7", O1)) == 2
    assert set(ids) == {derived_id("sms", "in-7", O1), derived_id("sms", "in-8", O1)}


async def test_a_family_confirms_together_or_one_offer_by_its_code(
        served: Served, client: httpx.AsyncClient) -> None:
    code = links.reply_code(O4, SECRET)
    assert await sms(client, FAMILY, f"1 {code.lower()}", "in-2") == \
        {"outcome": "confirmed", "published": 1}
    assert [e["data"]["offer_id"] for e in await served.published()] == [O4]
    assert await sms(client, FAMILY, "1", "in-3") == {"outcome": "confirmed", "published": 2}
    confirmed = {e["data"]["offer_id"] for e in await served.published()
                 if e["id"] in (derived_id("sms", "in-3", O3), derived_id("sms", "in-3", O4))}
    assert confirmed == {O3, O4}


async def test_two_answers_with_the_link_in_the_bookings_language(
        served: Served, client: httpx.AsyncClient) -> None:
    assert await sms(client, ARABIC, "2", "in-4") == {"outcome": "link", "published": 1}
    assert await sms(client, ARABIC, "2", "in-4") == {"outcome": "link", "published": 1}
    events = await served.published(Topic.NOTIFICATIONS)
    assert len(events) == 2
    assert events[0] == events[1] or events[0]["id"] == events[1]["id"]
    event = events[0]
    ANY_ADAPTER.validate_json(json.dumps(event))  # a valid event of the contract
    data = event["data"]
    assert event["id"] == data["notification_id"] == \
        derived_id("sms-answer", "in-4", O2, "reply_link")
    assert data["template"] == "reply_link"
    assert data["language"] == "ar"
    assert data["recipient"] == {"name": "Applicant B-2", "email": None, "phone": ARABIC}
    variables = data["variables"]
    assert variables["reply_url"].startswith("http://visa.example/r/")
    token = variables["reply_url"].rsplit("/", 1)[-1]
    assert links.verify(token, [SECRET], at(1, 9)) == O2
    assert variables["reply_code"] == links.reply_code(O2, SECRET)
    assert variables["new_start"] == "2026-03-03T10:00:00+01:00"  # the centre's time
    assert variables["old_start"] == "2026-03-02T14:00:00+01:00"
    assert variables["reply_by"] == "2026-03-02T09:00:00+01:00"
    assert variables["reason"] == "next_days"
    assert variables["centre_name"] == "Capago Alger"
    assert await served.published() == []  # nothing confirmed


async def test_anything_else_answers_with_the_help_text(served: Served,
                                                        client: httpx.AsyncClient) -> None:
    for text in ("hello", "3", "1 not-a-code!", ""):
        assert (await sms(client, ALONE, text, f"in-help-{text}"))["outcome"] == "help"
    events = await served.published(Topic.NOTIFICATIONS)
    assert {e["data"]["template"] for e in events} == {"reply_help"}
    assert {e["data"]["language"] for e in events} == {"fr"}
    assert "reply_url" not in events[0]["data"]["variables"]
    assert len({e["id"] for e in events}) == 4
    wrong_code = await sms(client, FAMILY, "1 ZZZZZZ", "in-5")
    assert wrong_code == {"outcome": "help", "published": 1}
    assert await served.published() == []


async def test_an_unknown_sender_or_nothing_open_publishes_nothing(
        served: Served, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="reslot.web")
    stranger = "+33600000000"
    assert await sms(client, stranger, "1", "in-6") == {"outcome": "unknown_sender",
                                                        "published": 0}
    assert "no offer" in caplog.text
    assert stranger not in caplog.text
    assert "600000000" not in caplog.text
    await served.rows.offer("B-1", O1, at(2, 14), at(3, 10), at(2, 9), state="confirmed",
                            channel="web", phone=ALONE)
    assert await sms(client, ALONE, "1", "in-9") == {"outcome": "nothing_open",
                                                     "published": 0}
    assert await served.published() == []
    assert await served.published(Topic.NOTIFICATIONS) == []


async def test_the_gateway_needs_its_bearer_token(served: Served, kafka: str,
                                                  tmp_path: Path) -> None:
    body = {"from": ALONE, "text": "1", "id": "in-x"}
    async with httpx.AsyncClient(base_url=served.base) as c:
        assert (await c.post("/sms/inbound", json=body)).status_code == 401
        wrong = await c.post("/sms/inbound", json=body, headers={"Authorization": "Bearer no"})
        assert wrong.status_code == 401
        bad = await c.post("/sms/inbound", json={"from": "0555", "text": "1", "id": "x"},
                           headers=AUTH)
        assert bad.status_code == 422
    for unset in (None, SecretStr("")):  # unset, or set empty by a deployment
        async with served_front(kafka, tmp_path / "off", sms_inbound_token=unset) as off, \
                httpx.AsyncClient(base_url=off.base) as c:
            assert (await c.post("/sms/inbound", json=body, headers=AUTH)).status_code == 404
    assert await served.published() == []
