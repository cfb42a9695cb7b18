"""What the front takes in before any check, over real HTTP on a real store and broker: no
request body past 64 KiB is read (413, whoever sends it), and an offer held for review is
never revealed by the SMS route, whatever the applicant texts."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.web.app import MAX_BODY_BYTES
from tests.integration.web_harness import Served, served_front
from tests.webstore import at

pytestmark = pytest.mark.integration
PHONE = "+213555000111"
HELD = str(uuid.UUID(int=31))
AUTH = {"Authorization": "Bearer s3cret-sms"}


@pytest.fixture
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[Served]:
    async with served_front(kafka, tmp_path, review_centres="*") as front:
        rows = front.rows
        await rows.outage(at(2, 13), at(2, 17))
        await rows.plan(held=True)
        await rows.booking("B-1", at(3, 10), phone=PHONE)
        await rows.decision("B-1", "moved", at(2, 14), at(3, 10), reason="next_days")
        await rows.offer("B-1", HELD, at(2, 14), at(3, 10), None, held=True, phone=PHONE)
        yield front


async def test_a_body_past_the_limit_is_refused_before_any_check(served: Served) -> None:
    big = b"A" * (MAX_BODY_BYTES + 1)
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as c:
        sms = await c.post("/sms/inbound", content=b'{"from":"x","id":"1","text":"' + big + b'"}',
                           headers={"content-type": "application/json"})  # no token
        form = await c.post("/r/not-a-link/confirm", content=b"csrf=" + big,
                            headers={"content-type": "application/x-www-form-urlencoded"})
        small = await c.post("/sms/inbound", json={"from": PHONE, "id": "2", "text": "2"})
    assert sms.status_code == 413
    assert form.status_code == 413
    assert small.status_code == 401  # under the limit: the token is what refuses it


@pytest.mark.parametrize("text", ["2", "?", "1"])
async def test_an_offer_held_for_review_is_not_revealed_by_sms(
        served: Served, text: str) -> None:
    async with httpx.AsyncClient(base_url=served.base, headers=AUTH) as c:
        answer = await c.post("/sms/inbound", json={"from": PHONE, "id": f"in-{text}",
                                                    "text": text})
    assert answer.status_code == 200
    assert answer.json() == {"outcome": "nothing_open", "published": 0}
    assert await served.published() == []
