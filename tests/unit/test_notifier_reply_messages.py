"""Messages that carry a reply: the personal link, the deadline and the code, each shown
only when given; a restore says the original appointment stands; the SMS help names the
keywords of its script."""

import pytest

from services.notifier.domain.request import InvalidRequest
from services.notifier.rendering import LANGUAGES
from tests.unit.rendering_cases import (
    RENDERER,
    REPLY,
    render,
    request,
    variables,
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rescheduled_message_carries_the_link_the_deadline_and_the_code(language: str) -> None:
    message = render("appointment_rescheduled", language, **REPLY)
    deadline = {"fr": "2 décembre 2025 à 11 h 30", "en": "2 December 2025 at 11:30",
                "ar": "2 ديسمبر 2025، الساعة 11:30"}[language]
    for text in (message.text, message.html):
        assert REPLY["reply_url"] in text
        assert deadline in text
        assert "K7Q2" in text
    assert f'href="{REPLY["reply_url"]}"' in message.html
    assert "K7Q2" in message.sms


def test_each_reply_variable_shows_only_when_given() -> None:
    plain = render("appointment_rescheduled", "en")
    linked = render("appointment_rescheduled", "en", reply_url=REPLY["reply_url"])
    assert "Confirm, choose another time or decline:" in linked.text
    assert "before" not in linked.sms
    assert "code" not in linked.sms
    assert "Confirm" not in plain.text + plain.sms
    assert "You do not need to do anything" in plain.text


def test_restored_says_the_original_appointment_stands_and_what_is_cancelled() -> None:
    moved = render("appointment_restored", "fr")
    assert "Votre rendez-vous initial est maintenu" in moved.text
    assert "Rendez-vous : jeudi 4 décembre 2025 à 9 h 00" in moved.text
    assert "L'horaire provisoire du mercredi 3 décembre 2025 à 16 h 30 est annulé" in moved.text
    waiting = render("appointment_restored", "fr", old_start="2025-12-04T09:00:00+01:00")
    assert "provisoire" not in waiting.text
    assert "annul" not in waiting.sms


@pytest.mark.parametrize(
    ("overrides", "error"),
    [({"reply_url": "javascript:alert(1)"}, "reply_url"),
     ({"reply_url": "https://x.example/r/a b"}, "reply_url"),
     ({"reply_by": "tomorrow"}, "reply_by"),
     ({"reply_code": "a code; with spaces"}, "reply_code")],
)
def test_a_malformed_reply_variable_is_an_invalid_request(
    overrides: dict[str, str], error: str
) -> None:
    with pytest.raises(InvalidRequest, match=error):
        render("appointment_rescheduled", "en", **overrides)


def test_a_link_message_without_its_link_is_an_invalid_request() -> None:
    broken = variables("reply_link")
    del broken["reply_url"]
    with pytest.raises(InvalidRequest, match="reply_url"):
        RENDERER.render(request("reply_link", "fr", variables=broken))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_help_names_the_keywords_of_its_script(language: str) -> None:
    message = render("reply_help", language)
    assert all(word in message.text for word in ("1", "OK", "OUI", "نعم", "2"))
    keywords = {"fr": ("1", "OK", "OUI"), "en": ("1", "OK"), "ar": ("1", "OK", "نعم")}[language]
    assert all(word in message.sms for word in keywords)
