"""SMS from every template in every language: at most three parts, usually one or two, the
personal link never cut, letters outside GSM-7 replaced in SMS only."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.domain.segments import MAX_SEGMENTS, sms_size
from services.notifier.rendering import LANGUAGES, TEMPLATES
from services.notifier.rendering.labels import REASONS, SERVICES
from tests.unit.rendering_cases import (
    CASES,
    REPLY,
    render,
)

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


def test_a_name_of_any_length_costs_a_bounded_number_of_renders() -> None:
    """One render per 20 characters cut made a 40,000-character name cost 9 s a message."""
    from services.notifier.rendering.sms import fit_sms

    calls: list[int] = []

    def render(name: str, compact: bool) -> str:
        calls.append(len(name))
        return f"Votre rendez-vous au centre {name} est avance au 4 decembre a 9 h."

    text = fit_sms(render, "Capago " * 6_000, "fr")
    assert sms_size(text).segments <= MAX_SEGMENTS
    assert len(calls) <= 30


@pytest.mark.parametrize("link_length", [300, 40_000])
def test_a_huge_link_is_cut_to_three_parts_without_trying_every_length(
        link_length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.notifier.rendering import sms as rendering

    link = "https://rdv.reslot.example/r/" + "A" * link_length
    sizes: list[int] = []
    measure = sms_size

    def counted(text: str) -> Any:
        sizes.append(len(text))
        return measure(text)

    monkeypatch.setattr(rendering, "sms_size", counted)
    text = rendering._truncate(f"Bonjour, repondez ici : {link} merci", link)
    assert sms_size(text).segments <= MAX_SEGMENTS
    assert len(sizes) <= 40  # halving: log2 of the length, twice; one by one, 40,000
