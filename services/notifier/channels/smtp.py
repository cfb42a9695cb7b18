"""E-mail over SMTP (aiosmtplib): multipart text + HTML, Message-ID from the notification id."""

import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from services.common.settings import Settings
from services.notifier.channels import Outbound
from services.notifier.domain.model import Failure
from services.notifier.domain.retry import network_failure, smtp_failure

_ID_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def message_id(notification_id: str) -> str:
    """Deterministic Message-ID: a resend after a crash carries the same one."""
    local = notification_id
    if not _ID_SAFE.match(local):
        local = hashlib.sha256(notification_id.encode()).hexdigest()[:40]
    return f"<{local}@reslot>"


def compose_email(outbound: Outbound, sender: str) -> EmailMessage:
    """The MIME message: text/plain and text/html alternatives, UTF-8 throughout."""
    rendered = outbound.message
    message = EmailMessage()
    message["Message-ID"] = message_id(outbound.notification_id)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["From"] = sender
    message["To"] = Address(display_name=outbound.recipient_name, addr_spec=outbound.address)
    message["Subject"] = rendered.subject
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    # After the parts: making the body multipart moves Content-* headers into the first part.
    message["Content-Language"] = rendered.language
    return message


class SmtpSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._starttls = starttls
        self._username, self._password = username, password
        self._timeout_s = timeout_s
        self._envelope_from = parseaddr(sender)[1] or sender

    @classmethod
    def from_settings(cls, settings: Settings, timeout_s: float = 30.0) -> "SmtpSender":
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout_s=timeout_s,
        )

    async def send(self, outbound: Outbound) -> Failure | None:
        message = compose_email(outbound, self._sender)
        try:
            await aiosmtplib.send(
                message,
                sender=self._envelope_from,
                recipients=[outbound.address],
                hostname=self._host,
                port=self._port,
                start_tls=self._starttls,
                username=self._username,
                password=self._password,
                timeout=self._timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return smtp_failure(refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as exc:
            return smtp_failure(exc.code, exc.message)
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            return network_failure("smtp timeout")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return network_failure(f"smtp {type(exc).__name__}")
        return None

    async def close(self) -> None:
        return None  # one connection per message: nothing held open
