"""E-mail over SMTP (aiosmtplib): multipart text + HTML, Message-ID from the notification id.

A small pool of persistent sessions: each sends its messages one after the other
(`SMTP.sendmail`: MAIL, RCPT, DATA per message, RSET after a refusal), is dropped after a
connection error, a timeout or a 421, and replaced by a new one on the next send. A session
found closed before its MAIL was accepted is replaced at once, without counting as a
failure; closed any later (the whole message may have been taken), it is a failure, and the
counted retry sends the message again, never this attempt.
"""

import asyncio
import socket
from email.utils import parseaddr
from typing import Any

import aiosmtplib
import structlog

from services.common.settings import Settings
from services.notifier.channels import Outbound
from services.notifier.channels.mail import compose_email, message_id
from services.notifier.domain.model import Failure
from services.notifier.domain.retry import network_failure, smtp_failure

__all__ = ["SmtpSender", "compose_email", "message_id"]

log = structlog.get_logger("reslot.notifier")

_INVALID_ADDRESS = Failure(False, "smtp invalid address")


class Session(aiosmtplib.SMTP):
    """An SMTP session that says whether the server accepted the MAIL of its transaction:
    before that, a server that closed the session has taken nothing of the message."""

    mail_accepted = False

    async def mail(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.mail_accepted = False
        response = await super().mail(*args, **kwargs)
        self.mail_accepted = True
        return response


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
        connections: int = 8,
        local_hostname: str | None = None,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._starttls = starttls
        self._username, self._password = username, password
        self._timeout_s = timeout_s
        self._envelope_from = parseaddr(sender)[1] or sender
        self._local_hostname = local_hostname
        self._sessions = asyncio.Semaphore(max(1, connections))
        self._idle: list[Session] = []
        self._closed = False

    @classmethod
    def from_settings(
        cls, settings: Settings, timeout_s: float = 30.0, connections: int = 8
    ) -> "SmtpSender":
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout_s=timeout_s,
            connections=connections,
        )

    async def send(self, outbound: Outbound) -> Failure | None:
        try:
            data = compose_email(outbound, self._sender)
        except ValueError:  # an address that cannot be written in a header
            return _INVALID_ADDRESS
        async with self._sessions:
            session = self._idle.pop() if self._idle else None
            try:
                if session is not None and session.is_connected:
                    try:
                        await self._timed(session, outbound.address, data)
                        return None
                    except aiosmtplib.SMTPServerDisconnected:
                        if session.mail_accepted:  # it may hold the message: not again now
                            raise
                        # Closed by the server while idle (timeout, restart) and not noticed
                        # before the first command: nothing was taken, so on a new session.
                        session.close()
                session = await self._connect()
                await self._timed(session, outbound.address, data)
                return None
            except aiosmtplib.SMTPRecipientsRefused as exc:  # our one recipient
                refused = exc.recipients[0]
                return smtp_failure(refused.code, refused.message)
            except aiosmtplib.SMTPResponseException as exc:  # sender or data refused, 421
                if exc.code == aiosmtplib.SMTPStatus.domain_unavailable and session is not None:
                    session.close()  # 421: the server is closing this session (RFC 5321 3.8)
                return smtp_failure(exc.code, exc.message)
            except (aiosmtplib.SMTPTimeoutError, TimeoutError):
                return network_failure("smtp timeout")
            except (aiosmtplib.SMTPException, OSError) as exc:
                return network_failure(f"smtp {type(exc).__name__}")
            except ValueError:  # a control character in an address, refused before sending
                return _INVALID_ADDRESS
            finally:
                self._release(session)

    async def _timed(self, session: Session, recipient: str, data: bytes) -> None:
        """The transaction within the timeout: one timer for it rather than one per reply."""
        options = ["SMTPUTF8"] if not (self._envelope_from + recipient).isascii() else []
        session.mail_accepted = False  # this transaction's, not the last one's
        try:
            async with asyncio.timeout(self._timeout_s):
                await session.sendmail(self._envelope_from, [recipient], data,
                                       mail_options=options, timeout=None)
        except TimeoutError:
            session.close()  # a reply we gave up on would answer the next command
            raise

    async def _connect(self) -> Session:
        if self._local_hostname is None:  # once: EHLO names the same host on every session
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        session = Session(
            hostname=self._host,
            port=self._port,
            local_hostname=self._local_hostname,
            timeout=self._timeout_s,
            start_tls=self._starttls,
            username=self._username,
            password=self._password,
        )
        try:
            await session.connect()
            await session._ehlo_or_helo_if_needed()  # the server's extensions, before MAIL
        except BaseException:
            session.close()
            raise
        return session

    def _release(self, session: Session | None) -> None:
        """Keep a session that can take the next message; close any other."""
        if session is None:
            return
        if session.is_connected and not self._closed and session not in self._idle:
            self._idle.append(session)
        elif session not in self._idle:
            session.close()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for session in idle:
            try:
                async with asyncio.timeout(1.0):
                    await session.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass  # closing anyway
            finally:
                session.close()
