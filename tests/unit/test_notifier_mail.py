"""The e-mail as EmailMessage (SMTP policy) writes it, read back with the standard library's
parser: what the receiver sees, and what a resend keeps the same."""

import base64
import datetime as dt
import email
import email.header
import email.policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.channels import Outbound
from services.notifier.channels.mail import compose_email, header_text, message_id
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
    assert all(p["Content-Language"] is None for p in parts)  # on the message, not a part
    text, html = (str(p.get_content()).replace("\r\n", "\n") for p in parts)
    assert (text, html) == (rendered().text, rendered().html)
    assert not message.defects
    assert not any(p.defects for p in parts)


def test_every_line_is_short_ascii_with_crlf_endings() -> None:
    raw = compose_email(outbound(), SENDER)
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


DATE = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_a_resend_is_the_same_message_but_for_its_date() -> None:
    first = compose_email(outbound(), SENDER, date=DATE)
    again = compose_email(outbound(), SENDER, date=DATE)
    assert first == again  # the boundary too derives from the notification id
    later = compose_email(outbound(), SENDER, date=DATE + dt.timedelta(minutes=5))
    assert parsed(later)["Date"].datetime == DATE + dt.timedelta(minutes=5)
    assert later.replace(b"09:05:00", b"09:00:00") == first


def test_names_are_quoted_or_encoded_and_never_break_the_header() -> None:
    assert parsed(compose_email(outbound('O\'Brien, "Jr."'), SENDER))["To"].addresses[
        0
    ].display_name == 'O\'Brien, "Jr."'
    name = "Amel\r\nBcc: someone@example.com"
    raw = compose_email(outbound(name), SENDER)
    assert b"\r\nBcc:" not in raw  # a line break in a name is a space: no header injected
    message = parsed(raw)
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Amel Bcc: someone@example.com"
    assert message["To"].addresses[0].addr_spec == "amel@example.dz"


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


@given(st.text(max_size=200).filter(lambda t: t.strip() and t.isprintable()))
def test_any_subject_is_folded_ascii_that_decodes_to_the_text(subject: str) -> None:
    message = RenderedMessage("ar", subject, "texte\n", "<p>html</p>\n", "sms")
    raw = compose_email(Outbound("n-9", "Amel", "amel@example.dz", message), SENDER)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert " ".join(str(parsed(raw)["Subject"]).split()) == header_text(subject)


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


@pytest.mark.parametrize("where", ["name", "subject"])
def test_an_encoded_word_in_a_name_or_subject_adds_no_header(where: str) -> None:
    """The parser decoded =?utf-8?b?...?= line breaks and all, and the message carried a
    Reply-To of the attacker's choosing (the names come from upstream booking systems)."""
    sly = _encoded_word("Amine\nReply-To: attacker@evil.example\nX-Injected: yes\nX-Tail:")
    message = RenderedMessage("fr", sly if where == "subject" else SUBJECT, "texte\n",
                              "<p>html</p>\n", "sms")
    raw = compose_email(Outbound("n-8", sly if where == "name" else "Amine",
                                 "amine@example.dz", message), SENDER)
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"Reply-To" not in headers
    assert b"X-Injected" not in headers
    received = parsed(raw)
    assert received["Reply-To"] is None
    assert received["To"].addresses[0].addr_spec == "amine@example.dz"
