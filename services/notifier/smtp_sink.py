"""An SMTP server that records what it receives (aiosmtpd), on 127.0.0.1 and a free port.

For tests and `make run` demos; it runs on the caller's event loop. It can refuse a recipient
(`refuse[address] = "550 ..."`) or answer DATA with scripted replies (`data_replies[address]`),
and can take `delay_s` per message to make a batch last long enough to be interrupted.

    python -m services.notifier.smtp_sink [--port 1025]
"""

import argparse
import asyncio
import email
import email.policy
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from functools import cached_property
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes

    @cached_property  # parsed once: tests and the bench's counts read it again and again
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @cached_property
    def message_id(self) -> str:
        """From the header block alone: counting unique messages must not parse every body."""
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(self.raw)
        return " ".join(str(headers["Message-ID"]).split())

    def part(self, content_type: str) -> str:
        body = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert isinstance(body, EmailMessage), f"no {content_type} part"
        return str(body.get_content())


@dataclass
class SmtpSink:
    delay_s: float = 0.0
    refuse: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    messages: list[ReceivedMail] = field(default_factory=list)
    port: int = 0
    connections: int = 0  # SMTP sessions opened by clients so far
    _sessions: list[SMTP] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self, port: int = 0) -> "SmtpSink":
        loop = asyncio.get_running_loop()

        def session() -> SMTP:
            self.connections += 1
            smtp = SMTP(_Handler(self), hostname="reslot-sink", loop=loop)
            self._sessions.append(smtp)
            return smtp

        self._server = await loop.create_server(session, "127.0.0.1", port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def drop_connections(self) -> None:
        """Close every open session from the server's side (an idle timeout, a restart)."""
        for smtp in self._sessions:
            if smtp.transport is not None:
                smtp.transport.close()
        self._sessions.clear()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def by_message_id(self) -> dict[str, list[ReceivedMail]]:
        """Messages grouped by Message-ID: a resend after a crash carries the same id."""
        grouped: dict[str, list[ReceivedMail]] = defaultdict(list)
        for mail in self.messages:
            grouped[mail.message_id].append(mail)
        return dict(grouped)

    async def wait_for_unique(self, count: int) -> None:
        """Until `count` distinct Message-IDs arrived (wrap it in asyncio.timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.by_message_id()) >= count)

    async def _record(self, mail: ReceivedMail) -> None:
        async with self._changed:
            self.messages.append(mail)
            self._changed.notify_all()


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self._sink.refuse:
            return self._sink.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            if self._sink.data_replies.get(rcpt):
                return self._sink.data_replies[rcpt].pop(0)
        if self._sink.delay_s:
            await asyncio.sleep(self._sink.delay_s)
        raw = envelope.original_content or b""
        await self._sink._record(
            ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(raw))
        )
        return "250 Message accepted for delivery"


async def _main(port: int) -> None:
    sink = await SmtpSink().start(port)
    print(f"SMTP sink on 127.0.0.1:{sink.port}", flush=True)
    seen = 0
    while True:
        await asyncio.sleep(0.5)
        for mail in sink.messages[seen:]:
            print(f"{mail.message_id} {mail.message['Subject']}", flush=True)
        seen = len(sink.messages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=1025)
    asyncio.run(_main(parser.parse_args().port))
