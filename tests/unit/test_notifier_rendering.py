"""Templates in French, Arabic and English: snapshots, time zones, direction, SMS length.

Snapshots live in tests/snapshots/notifier/; regenerate them with UPDATE_SNAPSHOTS=1.
"""

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError

from schemas.data import NotificationRequested, Recipient
from schemas.reasons import MOVED_REASONS, UNPLACED_REASONS
from services.notifier.domain.request import InvalidRequest
from services.notifier.domain.segments import MAX_SEGMENTS, sms_size
from services.notifier.rendering import LANGUAGES, TEMPLATES, RenderedMessage, Renderer
from services.notifier.rendering.labels import REASONS, SERVICES
from services.notifier.rendering.renderer import TEMPLATE_DIR

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "notifier"
RENDERER = Renderer()


REASON = {"appointment_rescheduled": "next_days", "appointment_unplaced": "no_capacity_in_horizon",
          "appointment_restored": "restored", "reply_link": "next_days",
          "reply_help": "next_days"}
# What the reply front will put in messages (issue 13): a signed token makes a long URL.
REPLY = {
    "reply_url": "https://rdv.reslot.example/r/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf",
    "reply_by": "2025-12-02T11:30:00+01:00",
    "reply_code": "K7Q2",
}


def variables(template: str, **overrides: str) -> dict[str, str]:
    v = {
        "old_start": "2025-12-03T16:30:00+01:00",
        "timezone": "Africa/Algiers",
        "centre_name": "Capago Alger",
        "centre_address": "Lot 12, rue Ahmed Ouaked, Dely Ibrahim",
        "centre_city": "Alger",
        "service": "short_stay",
        "reason": REASON[template],
        "booking_id": "BK-2025-000123",
    }
    if template != "appointment_unplaced":
        v["new_start"] = "2025-12-04T09:00:00+01:00"
    if template == "reply_link":
        v["reply_url"] = REPLY["reply_url"]
        v["reply_by"] = REPLY["reply_by"]
    v.update(overrides)
    return v


def request(template: str, language: str, **overrides: Any) -> NotificationRequested:
    return NotificationRequested(
        notification_id="n-1",
        booking_id="BK-2025-000123",
        centre_id="capago-alger",
        template=template,  # type: ignore[arg-type]
        language=language,  # type: ignore[arg-type]
        recipient=Recipient(name="Amel Benali", email="amel@example.dz", phone="+213555000111"),
        variables=overrides.pop("variables", None) or variables(template, **overrides),
    )


def render(template: str, language: str, **overrides: Any) -> RenderedMessage:
    return RENDERER.render(request(template, language, **overrides))


PARTS = {"subject.txt": "subject", "body.txt": "text", "body.html": "html", "sms.txt": "sms"}
# Every template as the scheduler sends it, and the variants its optional variables make.
CASES: dict[str, tuple[str, dict[str, str]]] = {
    **{template: (template, {}) for template in TEMPLATES},
    "appointment_rescheduled+reply": ("appointment_rescheduled", REPLY),
    # restored for someone who was waiting: the slot they held is the original one
    "appointment_restored+waiting": ("appointment_restored",
                                     {"old_start": "2025-12-04T09:00:00+01:00"}),
    "appointment_restored+reply": ("appointment_restored", REPLY),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES)
def test_rendered_messages_match_their_snapshots(case: str, language: str) -> None:
    template, overrides = CASES[case]
    message = render(template, language, **overrides)
    for part, attribute in PARTS.items():
        path = SNAPSHOTS / f"{case}.{language}.{part}"
        text = getattr(message, attribute)
        text = text if text.endswith("\n") else text + "\n"
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1"
        assert text == path.read_text(encoding="utf-8"), f"{path.name} differs from its snapshot"


def test_every_language_has_every_template_part() -> None:
    for language in LANGUAGES:
        for template in TEMPLATES:
            for part in PARTS:
                assert (TEMPLATE_DIR / language / template / part).is_file()


def test_every_reason_code_of_the_contract_has_words_in_every_language() -> None:
    for language in LANGUAGES:
        assert set(MOVED_REASONS) | set(UNPLACED_REASONS) <= set(REASONS[language])


def test_every_language_has_words_for_every_service_and_reason() -> None:
    assert set(SERVICES) == set(REASONS) == set(LANGUAGES)
    for table in (SERVICES, REASONS):
        keys = {lang: set(words) for lang, words in table.items()}
        assert keys["fr"] == keys["ar"] == keys["en"]
        assert all(text.strip() for words in table.values() for text in words.values())


def test_french_writes_dates_the_french_way() -> None:
    text = render("appointment_rescheduled", "fr").text
    assert "mercredi 3 décembre 2025 à 16 h 30" in text
    assert "jeudi 4 décembre 2025 à 9 h 00" in text


def test_english_writes_a_24_hour_clock() -> None:
    text = render("appointment_rescheduled", "en").text
    assert "Wednesday 3 December 2025 at 16:30" in text


def test_arabic_writes_algerian_month_names_with_latin_digits() -> None:
    text = render("appointment_rescheduled", "ar").text
    assert "الأربعاء 3 ديسمبر 2025، الساعة 16:30" in text


def test_arabic_in_egypt_writes_arabic_indic_digits() -> None:
    message = render(
        "appointment_unplaced",
        "ar",
        timezone="Africa/Cairo",
        old_start="2025-12-03T16:30:00+02:00",
    )
    assert "٣ ديسمبر ٢٠٢٥، الساعة ١٦:٣٠" in message.text


def test_times_are_shown_in_the_centres_zone_whatever_the_offset_sent() -> None:
    text = render("appointment_unplaced", "fr", old_start="2025-12-03T15:30:00Z").text
    assert "3 décembre 2025 à 16 h 30" in text  # 15:30 UTC is 16:30 in Algiers
    summer = render(
        "appointment_unplaced",
        "en",
        timezone="Europe/Paris",
        old_start="2025-07-01T08:15:00+00:00",
    )
    assert "Tuesday 1 July 2025 at 10:15" in summer.text


def test_no_time_zone_names_from_cldr_appear() -> None:
    for language in LANGUAGES:
        message = render("appointment_rescheduled", language)
        for name in ("UTC", "GMT", "Europe centrale", "Central European", "CET", "وسط أوروبا"):
            assert name not in message.text


@pytest.mark.parametrize("template", TEMPLATES)
def test_arabic_html_is_right_to_left_and_the_others_left_to_right(template: str) -> None:
    assert '<html lang="ar" dir="rtl">' in render(template, "ar").html
    assert '<html lang="fr" dir="ltr">' in render(template, "fr").html
    assert '<html lang="en" dir="ltr">' in render(template, "en").html


def test_html_escapes_variables_and_plain_text_does_not() -> None:
    message = render("appointment_rescheduled", "en", centre_name="Tom & Jerry <b>")
    assert "Tom &amp; Jerry &lt;b&gt;" in message.html
    assert "<b>" not in message.html.replace("<body", "")
    assert "Tom & Jerry <b>" in message.text


def test_centre_name_address_and_booking_reference_are_in_every_email() -> None:
    for language in LANGUAGES:
        for template in TEMPLATES:
            message = render(template, language)
            for value in (
                "Capago Alger",
                *(() if template.startswith("reply_") else
                  ("Lot 12, rue Ahmed Ouaked, Dely Ibrahim",)),
                "BK-2025-000123",
            ):
                assert value in message.text
                assert value in message.html


def test_an_unknown_reason_code_leaves_no_blank_line_nor_fails() -> None:
    message = render("appointment_rescheduled", "fr", reason="something_new")
    assert "\n\n\n" not in message.text
    assert "Nouveau rendez-vous" in message.text


def test_a_missing_variable_is_an_invalid_request_naming_it() -> None:
    broken = variables("appointment_rescheduled")
    del broken["new_start"]
    with pytest.raises(InvalidRequest, match="new_start"):
        RENDERER.render(request("appointment_rescheduled", "fr", variables=broken))


def test_a_bad_time_zone_or_date_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="timezone"):
        render("appointment_unplaced", "en", timezone="Mars/Olympus")
    with pytest.raises(InvalidRequest, match="old_start"):
        render("appointment_unplaced", "en", old_start="tomorrow")
    with pytest.raises(InvalidRequest, match="offset"):
        render("appointment_unplaced", "en", old_start="2025-12-03T16:30:00")


def test_a_template_naming_an_unknown_variable_fails_loudly() -> None:
    env = Environment(
        loader=DictLoader({"t.txt": "{{ missing_translation }}"}), undefined=StrictUndefined
    )
    with pytest.raises(UndefinedError):
        env.get_template("t.txt").render({})


REASON_CODES = sorted({code for words in REASONS.values() for code in words} | {"other"})
SERVICE_CODES = sorted({code for words in SERVICES.values() for code in words} | {"other_service"})


# SMS parts at most, Latin script (GSM-7: 160, 153 a part) and Arabic (UCS-2: 70, 67 a part).
# A personal link (about 70 characters) takes a part of its own.
MOST_PARTS = {
    "appointment_rescheduled": (1, 2), "appointment_unplaced": (1, 2),
    "appointment_restored": (1, 2), "appointment_rescheduled+reply": (2, 3),
    "appointment_restored+waiting": (1, 2), "appointment_restored+reply": (2, 3),
    "reply_link": (2, 3), "reply_help": (1, 2),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES)
def test_every_sms_fits_three_parts_and_usually_one_or_two(case: str, language: str) -> None:
    template, overrides = CASES[case]
    for reason in REASON_CODES:
        for service in SERVICE_CODES:
            sms = render(template, language, **{**overrides, "reason": reason,
                                                 "service": service}).sms
            size = sms_size(sms)
            assert 1 <= size.segments <= MAX_SEGMENTS, (template, language, reason, size)
            # Latin-script SMS stay GSM-7; Arabic is UCS-2.
            assert size.encoding == ("ucs2" if language == "ar" else "gsm7")
            assert size.segments <= MOST_PARTS[case][language == "ar"], sms
            assert "reply_url" not in overrides or overrides["reply_url"] in sms


def test_french_letters_outside_gsm7_are_replaced_in_sms_only() -> None:
    message = render("appointment_unplaced", "fr", old_start="2025-08-14T10:00:00+01:00")
    assert "août" in message.text
    assert "aout" in message.sms
    assert sms_size(message.sms).encoding == "gsm7"


@settings(max_examples=60, deadline=None)
@given(
    template=st.sampled_from(TEMPLATES),
    language=st.sampled_from(LANGUAGES),
    centre_name=st.text(min_size=1, max_size=300).filter(str.strip),
    booking_id=st.text(
        st.characters(codec="ascii", categories=["L", "N", "Pd"]), min_size=1, max_size=40
    ),
)
def test_any_centre_name_yields_an_sms_of_at_most_three_parts(
    template: str, language: str, centre_name: str, booking_id: str
) -> None:
    message = render(template, language, centre_name=centre_name, booking_id=booking_id)
    assert message.sms.strip()
    assert sms_size(message.sms).segments <= MAX_SEGMENTS


LINKED = ("appointment_rescheduled", "appointment_restored", "reply_link")


@settings(max_examples=60, deadline=None)
@given(
    template=st.sampled_from(LINKED),
    language=st.sampled_from(LANGUAGES),
    centre_name=st.text(min_size=1, max_size=300).filter(str.strip),
    booking_id=st.text(
        st.characters(codec="ascii", categories=["L", "N", "Pd"]), min_size=1, max_size=40
    ),
)
def test_the_personal_link_is_never_cut_whatever_the_centre_name(
    template: str, language: str, centre_name: str, booking_id: str
) -> None:
    message = render(template, language, centre_name=centre_name, booking_id=booking_id,
                     **REPLY)
    assert REPLY["reply_url"] in message.sms
    assert sms_size(message.sms).segments <= MAX_SEGMENTS


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
