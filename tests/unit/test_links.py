"""Reply links: signed, expiring, rotation-friendly, nothing personal in them."""

import datetime as dt
import uuid

import pytest

from services.common.links import BadLink, ExpiredLink, reply_code, sign, verify

NOW = dt.datetime(2026, 12, 6, 14, 0, tzinfo=dt.UTC)
OFFER = str(uuid.uuid5(uuid.NAMESPACE_URL, "offer-1"))
LATER = NOW + dt.timedelta(days=3)


def test_a_link_we_signed_names_its_offer() -> None:
    assert verify(sign(OFFER, LATER, "s1"), ["s1"], NOW) == OFFER


def test_the_token_carries_no_personal_data_and_fits_an_sms() -> None:
    token = sign(OFFER, LATER, "s1")
    assert len(token) <= 48
    assert OFFER not in token
    assert "s1" not in token


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
    lambda t: ("B" if t[0] != "B" else "C") + t[1:],  # payload changed: another offer
    lambda t: t.replace(".", ""),
    lambda t: t[:10],
    lambda t: "",
    lambda t: "not a token at all",
    lambda t: t + ".x",
])
def test_a_tampered_link_is_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadLink):
        verify(mangle(sign(OFFER, LATER, "s1")), ["s1"], NOW)


def test_a_link_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(BadLink):
        verify(sign(OFFER, LATER, "someone else"), ["s1"], NOW)


def test_an_expired_link_is_told_apart_from_a_forged_one() -> None:
    token = sign(OFFER, NOW + dt.timedelta(minutes=1), "s1")
    assert verify(token, ["s1"], NOW) == OFFER
    with pytest.raises(ExpiredLink):
        verify(token, ["s1"], NOW + dt.timedelta(minutes=1))


def test_rotation_new_secret_signs_old_one_still_verifies() -> None:
    old = sign(OFFER, LATER, "old")
    new = sign(OFFER, LATER, "new")
    assert verify(old, ["new", "old"], NOW) == verify(new, ["new", "old"], NOW) == OFFER
    with pytest.raises(BadLink):
        verify(old, ["new"], NOW)  # dropped once its links have expired


def test_reply_codes_are_short_stable_and_differ_between_offers() -> None:
    other = str(uuid.uuid5(uuid.NAMESPACE_URL, "offer-2"))
    assert reply_code(OFFER, "s1") == reply_code(OFFER, "s1")
    assert reply_code(OFFER, "s1") != reply_code(other, "s1")
    assert len(reply_code(OFFER, "s1")) == 6
    assert reply_code(OFFER, "s1").isalnum()
