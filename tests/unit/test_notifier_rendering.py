"""Templates in French, Arabic and English: snapshots, time zones, direction, SMS length.

Snapshots live in tests/snapshots/notifier/; regenerate them with UPDATE_SNAPSHOTS=1.
"""

import os
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError

from schemas.reasons import MOVED_REASONS, UNPLACED_REASONS
from services.notifier.domain.request import InvalidRequest
from services.notifier.rendering import LANGUAGES, TEMPLATES
from services.notifier.rendering.labels import REASONS, SERVICES
from services.notifier.rendering.renderer import TEMPLATE_DIR
from tests.unit.rendering_cases import (
    CASES,
    PARTS,
    RENDERER,
    render,
    request,
    variables,
)

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "notifier"
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
