"""The e-mail as bytes on the wire: multipart/alternative (text, HTML), UTF-8, quoted-printable.

Written directly rather than through `email.message.EmailMessage`, whose header registry
costs a millisecond or two per message: the structure is the one EmailMessage produced
(Message-ID, Date, From, To, Subject, Auto-Submitted, MIME-Version, Content-Type with the
boundary, Content-Language; a text/plain then a text/html part), with non-ASCII header text
as RFC 2047 encoded words. The boundary derives from the notification id, so a resend is the
same message byte for byte but for its Date.
"""

import binascii
import hashlib
import re
import time
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache

from services.notifier.channels import Outbound

_ID_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")
_ADDRESS = re.compile(r"^[^\s<>()\[\],;:\"\\@]+@[^\s<>()\[\],;:\"\\@]+$")
_FOLD_AT = 76  # header lines kept under 78 characters where words allow
_WORD_BYTES = 39  # UTF-8 bytes per encoded word: 52 base64 characters, 64 with the markers


def message_id(notification_id: str) -> str:
    """Deterministic Message-ID: a resend after a crash carries the same one."""
    local = notification_id
    if not _ID_SAFE.match(local):
        local = hashlib.sha256(notification_id.encode()).hexdigest()[:40]
    return f"<{local}@reslot>"


def encoded_words(text: str) -> list[str]:
    """RFC 2047 "B" encoded words of at most 75 characters, never splitting a character."""
    data = text.encode("utf-8")
    words: list[str] = []
    start = 0
    while True:
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a UTF-8 sequence
            end -= 1
        words.append(_word(data[start:end]))
        if end >= len(data):
            return words
        start = end


def _word(data: bytes | bytearray) -> str:
    return f"=?utf-8?b?{binascii.b2a_base64(data, newline=False).decode('ascii')}?="


def header_text(value: str, name: str) -> str:
    """Unstructured header text: folded ASCII, else encoded words, one per line."""
    if _PRINTABLE_ASCII.match(value) and not value.startswith(" ") and "  " not in value:
        return _folded(value.split(" "), len(name) + 2)
    return "\r\n ".join(encoded_words(value))


def _folded(words: list[str], used: int) -> str:
    lines: list[str] = []
    line = ""
    for word in words:
        if len(word) > 900:  # too long for one header line: no folding can save it
            return "\r\n ".join(encoded_words(" ".join(words)))
        if line and used + len(line) + 1 + len(word) > _FOLD_AT:
            lines.append(line)
            line, used = word, 1
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def address_header(display_name: str, address: str) -> str:
    """`Name <address>`, the name quoted or encoded as needed; ValueError for a bad address."""
    if not _ADDRESS.match(address):
        raise ValueError("not an e-mail address")
    if not display_name:
        return address
    if _PRINTABLE_ASCII.match(display_name):
        return formataddr((display_name, address))
    return "\r\n ".join([*encoded_words(display_name), f"<{address}>"])


@lru_cache(maxsize=8)
def _from_header(sender: str) -> str:
    name, address = parseaddr(sender)
    return address_header(name, address or sender)


def _quoted_printable(text: str) -> bytes:
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _boundary(notification_id: str) -> str:
    # "=" never appears unencoded in quoted-printable text, so the boundary cannot either.
    return f"==reslot-{hashlib.sha256(notification_id.encode()).hexdigest()[:32]}=="


def _part(content_type: str, text: str) -> bytes:
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii") + _quoted_printable(text)


@lru_cache(maxsize=1)  # formatted once a second
def _date_of(second: int) -> str:
    return formatdate(second, usegmt=True).replace(" GMT", " +0000")  # as EmailMessage has it


def _now() -> str:
    return _date_of(int(time.time()))


def compose_email(outbound: Outbound, sender: str, date: str | None = None) -> bytes:
    """The whole message, CRLF line endings, ready for DATA (aiosmtplib dot-stuffs it)."""
    rendered = outbound.message
    boundary = _boundary(outbound.notification_id)
    head = (
        f"Message-ID: {message_id(outbound.notification_id)}\r\n"
        f"Date: {date or _now()}\r\n"
        f"From: {_from_header(sender)}\r\n"
        f"To: {address_header(outbound.recipient_name, outbound.address)}\r\n"
        f"Subject: {header_text(rendered.subject, 'Subject')}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'
        f"Content-Language: {rendered.language}\r\n\r\n"
    )
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join(
        (
            head.encode("utf-8"),  # UTF-8 only in an internationalised address (SMTPUTF8)
            delimiter[2:],
            _part("text/plain", rendered.text),
            delimiter,
            _part("text/html", rendered.html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )
