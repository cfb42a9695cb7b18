"""Providers that misbehave, each a real server on a loopback port: an SMS gateway that
drips its answer or sends an enormous one, an SMTP server that drops the session after the
whole message, a gateway that never answers. The notifier gives up within its deadline,
reads no more than it needs, never sends one message twice within one attempt, and one
channel's hung provider does not hold up the other channel."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from services.notifier.channels import Outbound
from services.notifier.channels.sms import MAX_BODY, SmsSender
from services.notifier.channels.smtp import SmtpSender
from services.notifier.rendering import RenderedMessage
from services.notifier.smtp_sink import SmtpSink
from tests.conftest import eventually
from tests.integration.notifier_rig import requested, rig

pytestmark = pytest.mark.integration
MESSAGE = RenderedMessage("fr", "Sujet", "texte\n", "<p>html</p>\n", "Votre rendez-vous.")
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def outbound(n: int, address: str = "+213555000111") -> Outbound:
    return Outbound(f"n-{n}", "Amel", address, MESSAGE)


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[int]:
    """A TCP server on a free loopback port answering each connection with `handler`."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    await reader.readexactly(length)


async def test_a_gateway_that_drips_its_answer_is_a_timeout_within_the_deadline() -> None:
    """httpx's timeouts are per read: a byte every half second held the send for ever."""
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 503 Busy\r\nContent-Length: 100000\r\n\r\n")
        while True:
            await writer.drain()
            await asyncio.sleep(0.3)
            writer.write(b"x")

    async with raw_server(drip) as port:
        sender = SmsSender(f"http://127.0.0.1:{port}/sms", "t", timeout_s=1.0, connections=1)
        try:
            failure = await asyncio.wait_for(sender.send(outbound(1)), timeout=30)
        finally:
            await sender.close()
    assert failure is not None
    assert (failure.transient, failure.error) == (True, "sms timeout")


async def test_an_enormous_answer_is_not_read_past_what_the_status_needs() -> None:
    sent = [0]

    async def enormous(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nContent-Length: 314572800\r\n\r\n")
        chunk = b"x" * (1024 * 1024)
        for _ in range(300):
            writer.write(chunk)
            await writer.drain()  # raises once the notifier has closed the connection
            sent[0] += len(chunk)

    async with raw_server(enormous) as port:
        sender = SmsSender(f"http://127.0.0.1:{port}/sms", "t", timeout_s=30.0, connections=1)
        try:
            failure = await sender.send(outbound(2))
        finally:
            await sender.close()
        await asyncio.sleep(0.5)  # the server notices the close
    assert failure is not None
    assert (failure.transient, failure.retry_after_s) == (True, 7.0)
    assert sent[0] < 64 * 1024 * 1024  # of 300 MB: what the sockets' buffers held at most
    assert MAX_BODY <= 64 * 1024


async def test_a_session_dropped_after_the_whole_message_does_not_send_it_again_at_once(
        ) -> None:
    """The server takes the second message's DATA, then closes instead of its 250: it may
    hold the message, so this attempt fails (the counted retry decides); it was sent again
    at once on a new session, uncounted."""
    received: list[bytes] = []
    transactions = [0]

    async def smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test ESMTP\r\n")
        while line := await reader.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                writer.write(b"250-test\r\n250 8BITMIME\r\n")
            elif command == b"DATA":
                writer.write(b"354 go\r\n")
                await writer.drain()
                body = b"".join([chunk async for chunk in _until_dot(reader)])
                received.append(body)
                transactions[0] += 1
                if transactions[0] == 2:
                    return  # everything taken, then the session dropped
                writer.write(b"250 queued\r\n")
            elif command == b"QUIT":
                writer.write(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                writer.write(b"250 ok\r\n")
            await writer.drain()

    async with raw_server(smtp) as port:
        sender = SmtpSender(host="127.0.0.1", port=port, sender="Reslot <r@reslot.example>",
                            timeout_s=5.0, connections=1, local_hostname="notifier.test")
        try:
            first = await sender.send(outbound(1, "amel@example.dz"))
            second = await sender.send(outbound(2, "amel@example.dz"))
            third = await sender.send(outbound(3, "amel@example.dz"))
        finally:
            await sender.close()
    assert first is None
    assert second is not None
    assert second.transient
    assert third is None  # a new session for the next message
    ids = [message_id for body in received for message_id in _message_ids(body)]
    assert ids == ["<n-1@reslot>", "<n-2@reslot>", "<n-3@reslot>"]


async def _until_dot(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while (line := await reader.readline()) not in (b".\r\n", b""):
        yield line


def _message_ids(body: bytes) -> list[str]:
    return [line.split(b":", 1)[1].strip().decode() for line in body.split(b"\r\n")
            if line.lower().startswith(b"message-id:")]


async def test_a_silent_sms_gateway_does_not_hold_up_e_mail(tmp_path: Path) -> None:
    """Every SMS to a gateway that never answers holds its place until its timeout (5 s
    here): a backlog of them took every place, and e-mails that came later waited behind."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(3600)

    smtp = await SmtpSink().start()
    try:
        async with raw_server(silent) as port, rig(
                f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", smtp=smtp,
                sms_url=f"http://127.0.0.1:{port}/sms", sms_rate_per_s=1000.0) as r:
            await r.accept(*(requested(n) for n in range(100)))
            await eventually(lambda: _at_least(len(smtp.messages), 100), timeout=30)
            await asyncio.sleep(0.5)  # the SMS backlog takes every place it may
            await r.accept(*(requested(n) for n in range(100, 110)))  # later, behind SMS
            await eventually(lambda: _at_least(len(smtp.messages), 110), timeout=4)
    finally:
        await smtp.stop()


async def _at_least(value: int, expected: int) -> bool:
    return value >= expected
