"""The e-mail as the standard library writes it: `email.message.EmailMessage` with the SMTP
policy (CRLF, lines folded under 78 characters, RFC 2047 encoded words), multipart/alternative
with a text/plain then a text/html part, UTF-8 in quoted-printable.

Deterministic where a resend must be recognised: the Message-ID and the MIME boundary derive
from the notification id, so a message sent again after a crash is the same message but for
its Date, and receivers drop the copy by its Message-ID.
"""

import datetime as dt
import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from services.notifier.channels import Outbound
from services.notifier.channels.headers import SMTP, SMTPUTF8

_ID_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_ADDRESS = re.compile(r"^[^\s<>()\[\],;:\"\\@]+@[^\s<>()\[\],;:\"\\@]+$")


def message_id(notification_id: str) -> str:
    """Deterministic Message-ID: a resend after a crash carries the same one."""
    local = notification_id
    if not _ID_SAFE.match(local):
        local = hashlib.sha256(notification_id.encode()).hexdigest()[:40]
    return f"<{local}@reslot>"


def _boundary(notification_id: str) -> str:
    # "=" never appears unencoded in quoted-printable text, so the boundary cannot either.
    return f"==reslot-{hashlib.sha256(notification_id.encode()).hexdigest()[:32]}=="


def header_text(text: str) -> str:
    """Text as one header line: control characters are spaces, runs of spaces one space, and
    "=?" is broken. The policy's parser decodes an RFC 2047 encoded word (=?utf-8?b?...?=)
    wherever it finds one, line breaks and all, and the generator wrote them out: an
    applicant's or a centre's name could add headers (Reply-To, Bcc). No real name or
    subject holds "=?"."""
    return " ".join(_CONTROL.sub(" ", text).split()).replace("=?", "= ?")


def mailbox(display_name: str, address: str) -> Address:
    """`Name <address>`; ValueError for an address that is not one. The name is one line of
    plain text (header_text), so it cannot start another header."""
    if not _ADDRESS.match(address):
        raise ValueError("not an e-mail address")
    username, _, domain = address.rpartition("@")
    return Address(header_text(display_name), username, domain)


def compose_email(outbound: Outbound, sender: str, date: dt.datetime | None = None) -> bytes:
    """The whole message, CRLF line endings, ready for DATA. UTF-8 headers only for an
    internationalised address (SMTPUTF8); everything else is ASCII."""
    rendered = outbound.message
    to = mailbox(outbound.recipient_name, outbound.address)
    name, address = parseaddr(sender)
    utf8 = not (outbound.address + address).isascii()
    # The standard library's SMTP policies, remembering the headers every message repeats.
    message = EmailMessage(policy=SMTPUTF8 if utf8 else SMTP)
    message["Message-ID"] = message_id(outbound.notification_id)
    message["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
    # As its string: the same header, but one the policy can remember (an Address it cannot).
    message["From"] = str(mailbox(name, address or sender))
    message["To"] = to
    message["Subject"] = header_text(rendered.subject)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8",
                            cte="quoted-printable")
    message.set_boundary(_boundary(outbound.notification_id))
    # After add_alternative, which moves every Content- header of the message to its first part.
    message["Content-Language"] = rendered.language
    return message.as_bytes()
