"""The e-mail as written on the wire, read back with the standard library's parser."""

import email
import email.header
import email.policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.channels import Outbound
from services.notifier.channels.mime import compose_email, encoded_words, message_id
from services.notifier.rendering import RenderedMessage

SENDER = "Reslot <no-reply@reslot.example>"


SUBJECT = "تم تغيير موعدك – Capago Alger"


def rendered(language: str = "ar", subject: str = SUBJECT) -> RenderedMessage:
    return RenderedMessage(
        language=language,
        subject=subject,
        text="مرحبًا أمل،\nموعدك الجديد: الخميس 4 ديسمبر 2025، الساعة 09:00\n" + "ب" * 200 + "\n",
        html='<html lang="ar" dir="rtl"><p>مرحبًا = أمل</p></html>\n',
        sms="تم تغيير موعدك",
    )


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def outbound(name: str = "أمل بن علي", address: str = "amel@example.dz") -> Outbound:
    return Outbound("n-7", name, address, rendered())


def test_the_message_is_multipart_alternative_with_text_then_html() -> None:
    message = parsed(compose_email(outbound(), SENDER))
    assert message["Message-ID"] == "<n-7@reslot>"
    assert message["From"] == SENDER
    assert message["To"] == "أمل بن علي <amel@example.dz>"
    assert message["Subject"] == rendered().subject
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "ar"
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    text, html = (str(p.get_content()).replace("\r\n", "\n") for p in parts)
    assert (text, html) == (rendered().text, rendered().html)
    assert not message.defects
    assert not any(p.defects for p in parts)


def test_every_line_is_short_ascii_with_crlf_endings() -> None:
    raw = compose_email(outbound(), SENDER)
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_a_resend_is_the_same_message_but_for_its_date() -> None:
    first = compose_email(outbound(), SENDER, date="Mon, 01 Dec 2025 09:00:00 +0000")
    again = compose_email(outbound(), SENDER, date="Mon, 01 Dec 2025 09:00:00 +0000")
    assert first == again  # the boundary too derives from the notification id


def test_names_are_quoted_or_encoded_and_never_break_the_header() -> None:
    assert parsed(compose_email(outbound('O\'Brien, "Jr."'), SENDER))["To"].addresses[
        0
    ].display_name == 'O\'Brien, "Jr."'
    name = "Amel\r\nBcc: someone@example.com"
    raw = compose_email(outbound(name), SENDER)
    assert b"\r\nBcc:" not in raw  # the line break stays inside an encoded word, inert
    to = email.message_from_bytes(raw, policy=email.policy.compat32)["To"]
    decoded = email.header.decode_header(to.rsplit(" <", 1)[0])
    assert "".join(p.decode(c or "ascii") for p, c in decoded) == name


@pytest.mark.parametrize(
    "address", ["", "not an address", "a@b@c", "x@y.z>\r\nRCPT TO:<v@w.x", "<a@b.c>"]
)
def test_an_address_that_is_not_one_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="not an e-mail address"):
        compose_email(outbound(address=address), SENDER)


def test_an_unsafe_notification_id_gets_a_hashed_message_id() -> None:
    assert message_id("n-1") == "<n-1@reslot>"
    unsafe = message_id("n 1/<x>")
    assert unsafe.startswith("<")
    assert unsafe.endswith("@reslot>")
    assert " " not in unsafe


@given(st.text(max_size=200))
def test_encoded_words_are_short_whole_characters_that_decode_to_the_text(text: str) -> None:
    words = encoded_words(text)
    assert all(len(w) <= 75 for w in words)
    decoded = "".join(
        part.decode(charset or "ascii") if isinstance(part, bytes) else part
        for part, charset in email.header.decode_header(" ".join(words))
    )
    assert decoded == text
