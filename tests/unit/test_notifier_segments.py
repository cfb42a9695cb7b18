"""SMS segment counting: GSM-7 (160 / 153 per part) and UCS-2 (70 / 67 per part)."""

import math

from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain.segments import is_gsm7, sms_segments, sms_size

GSM_BASIC_LETTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPéèàù 0123.,:")
ARABIC_LETTERS = st.sampled_from("ابتثجحخدذرسشصضطظعغفقكلمنهوي ")


def test_one_gsm_segment_holds_160_characters() -> None:
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2


def test_concatenated_gsm_parts_hold_153_characters() -> None:
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3
    assert sms_segments("a" * 459) == 3
    assert sms_segments("a" * 460) == 4


def test_extension_characters_take_two_septets() -> None:
    size = sms_size("€" * 80)
    assert (size.encoding, size.units, size.segments) == ("gsm7", 160, 1)
    assert sms_segments("€" * 81) == 2


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit two parts of 153 if the pair could straddle.
    assert sms_segments("a" * 152 + "€" + "a" * 152) == 3


def test_one_ucs2_segment_holds_70_characters() -> None:
    assert sms_size("س" * 70) == sms_size("س" * 70)
    assert sms_size("س" * 70).encoding == "ucs2"
    assert sms_segments("س" * 70) == 1
    assert sms_segments("س" * 71) == 2


def test_concatenated_ucs2_parts_hold_67_characters() -> None:
    assert sms_segments("س" * 134) == 2
    assert sms_segments("س" * 135) == 3
    assert sms_segments("س" * 201) == 3
    assert sms_segments("س" * 202) == 4


def test_one_character_outside_gsm7_turns_the_whole_text_into_ucs2() -> None:
    text = "a" * 100 + "ê"
    assert not is_gsm7(text)
    assert sms_size(text).encoding == "ucs2"
    assert sms_segments(text) == 2


def test_a_surrogate_pair_counts_two_units_and_is_not_split() -> None:
    assert sms_size("😀").units == 2
    assert sms_segments("a" * 66 + "😀" + "a" * 66) == 3  # 66 | 2 would straddle 67


def test_french_accents_of_gsm7_stay_gsm7() -> None:
    assert is_gsm7("Votre RDV du 3 décembre à 16 h 30 est déplacé. Réf. BK-1")


@given(st.text(GSM_BASIC_LETTERS, max_size=700))
def test_gsm_basic_text_follows_the_formula(text: str) -> None:
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert sms_segments(text) == expected


@given(st.text(ARABIC_LETTERS, min_size=1, max_size=400))
def test_arabic_text_follows_the_ucs2_formula(text: str) -> None:
    if text.strip() == "":
        return  # spaces alone are GSM-7
    expected = 1 if len(text) <= 70 else math.ceil(len(text) / 67)
    assert sms_segments(text) == expected


@given(st.text(max_size=300), st.text(max_size=50))
def test_appending_never_takes_fewer_parts_in_the_same_encoding(text: str, more: str) -> None:
    before, after = sms_size(text), sms_size(text + more)
    if before.encoding == after.encoding:
        assert after.segments >= before.segments
    assert after.segments >= 1
