"""The channels against a real SMTP server (aiosmtpd) and a real HTTP gateway: persistent
sessions and keep-alive connections, what happens when the server drops them, and the
failures each reply maps to."""

import asyncio

import pytest

from services.notifier.channels import Outbound
from services.notifier.channels.sms import SmsSender
from services.notifier.channels.smtp import SmtpSender
from services.notifier.domain.model import Failure
from services.notifier.rendering import RenderedMessage
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

MESSAGE = RenderedMessage(
    language="fr",
    subject="Votre rendez-vous a été déplacé – Capago Alger",
    text="Bonjour Amel,\n.une ligne qui commence par un point\nÀ bientôt.\n",
    html="<p>Bonjour Amel,</p>\n",
    sms="Votre rendez-vous a ete deplace.",
)


def outbound(n: int, address: str | None = None) -> Outbound:
    return Outbound(
        notification_id=f"n-{n}",
        recipient_name="Amel Benali",
        address=address or f"applicant{n}@example.dz",
        message=MESSAGE,
    )


def smtp_sender(sink: SmtpSink, *, connections: int = 2, timeout_s: float = 5.0) -> SmtpSender:
    return SmtpSender(
        host="127.0.0.1",
        port=sink.port,
        sender="Reslot <no-reply@reslot.example>",
        timeout_s=timeout_s,
        connections=connections,
        local_hostname="notifier.test",
    )


# -- SMTP -----------------------------------------------------------------------------------


async def test_many_messages_share_a_few_persistent_sessions(smtp: SmtpSink) -> None:
    sender = smtp_sender(smtp, connections=2)
    try:
        results = await asyncio.gather(*(sender.send(outbound(n)) for n in range(30)))
    finally:
        await sender.close()
    assert results == [None] * 30
    assert smtp.connections <= 2
    assert sorted(smtp.by_message_id()) == sorted(f"<n-{n}@reslot>" for n in range(30))
    mail = smtp.by_message_id()["<n-3@reslot>"][0]
    assert mail.recipients == ("applicant3@example.dz",)
    assert str(mail.message["Subject"]) == MESSAGE.subject
    text = mail.part("text/plain").replace("\r\n", "\n")
    assert text == MESSAGE.text  # a line starting with a dot survives the DATA framing


async def test_a_session_dropped_by_the_server_is_replaced_without_a_failure(
    smtp: SmtpSink,
) -> None:
    sender = smtp_sender(smtp, connections=1)
    try:
        assert await sender.send(outbound(1)) is None
        smtp.drop_connections()  # an idle timeout on the server's side
        await asyncio.sleep(0.05)
        assert await sender.send(outbound(2)) is None
        smtp.drop_connections()
        assert await sender.send(outbound(3)) is None  # dropped, not yet noticed: retried
    finally:
        await sender.close()
    assert [m.message_id for m in smtp.messages] == ["<n-1@reslot>", "<n-2@reslot>", "<n-3@reslot>"]
    assert smtp.connections == 3


async def test_a_refused_recipient_leaves_the_session_fit_for_the_next_message(
    smtp: SmtpSink,
) -> None:
    smtp.refuse["nobody@example.dz"] = "550 5.1.1 <nobody@example.dz> no such user"
    sender = smtp_sender(smtp, connections=1)
    try:
        refused = await sender.send(outbound(1, "nobody@example.dz"))
        delivered = await sender.send(outbound(2))
    finally:
        await sender.close()
    assert refused is not None
    assert not refused.transient
    assert refused.error.startswith("smtp 550")
    assert "nobody" not in refused.error
    assert delivered is None
    assert [m.message_id for m in smtp.messages] == ["<n-2@reslot>"]
    assert smtp.connections == 1  # RSET, then the same session


async def test_a_busy_reply_to_the_data_is_transient_and_the_session_goes_on(
    smtp: SmtpSink,
) -> None:
    smtp.data_replies["applicant1@example.dz"] = ["451 4.3.0 try again later"]
    sender = smtp_sender(smtp, connections=1)
    try:
        busy = await sender.send(outbound(1))
        again = await sender.send(outbound(1))
    finally:
        await sender.close()
    assert busy == Failure(True, "smtp 451: 4.3.0 try again later")
    assert again is None
    assert smtp.connections == 1


async def test_a_421_closes_the_session_and_the_next_message_opens_another(
    smtp: SmtpSink,
) -> None:
    smtp.data_replies["applicant1@example.dz"] = ["421 4.3.2 service shutting down"]
    sender = smtp_sender(smtp, connections=1)
    try:
        closing = await sender.send(outbound(1))
        delivered = await sender.send(outbound(2))
    finally:
        await sender.close()
    assert closing is not None
    assert closing.transient
    assert closing.error.startswith("smtp 421")
    assert delivered is None
    assert smtp.connections == 2


async def test_a_server_too_slow_to_answer_is_a_timeout_and_the_session_is_replaced() -> None:
    slow = await SmtpSink(delay_s=1.0).start()
    sender = smtp_sender(slow, connections=1, timeout_s=0.3)
    try:
        timed_out = await sender.send(outbound(1))
        slow.delay_s = 0.0
        delivered = await sender.send(outbound(2))
    finally:
        await sender.close()
        await slow.stop()
    assert timed_out == Failure(True, "smtp timeout")
    assert delivered is None
    assert slow.connections == 2  # the reply given up on never answers another command


async def test_an_address_that_cannot_be_written_fails_for_good_without_connecting(
    smtp: SmtpSink,
) -> None:
    sender = smtp_sender(smtp)
    try:
        failure = await sender.send(outbound(1, "not an address>\r\nRCPT TO:<x@y.z>"))
    finally:
        await sender.close()
    assert failure == Failure(False, "smtp invalid address")
    assert smtp.connections == 0


async def test_a_closed_port_is_a_transient_connection_failure() -> None:
    closed = await SmtpSink().start()
    await closed.stop()
    sender = smtp_sender(closed)
    try:
        failure = await sender.send(outbound(1))
    finally:
        await sender.close()
    assert failure is not None
    assert failure.transient
    assert failure.error.startswith("smtp SMTP")


# -- SMS gateway ----------------------------------------------------------------------------


def sms_sender(sink: SmsSink, *, connections: int = 2, timeout_s: float = 5.0) -> SmsSender:
    return SmsSender(sink.url, "s3cret", timeout_s=timeout_s, connections=connections)


async def test_sms_go_over_a_few_keep_alive_connections_with_their_keys(sms: SmsSink) -> None:
    sender = sms_sender(sms, connections=2)
    try:
        results = await asyncio.gather(
            *(sender.send(outbound(n, f"+21355500{n:04d}")) for n in range(30))
        )
    finally:
        await sender.close()
    assert results == [None] * 30
    assert sms.connections <= 2
    assert sorted(m.idempotency_key for m in sms.messages) == sorted(f"n-{n}" for n in range(30))
    assert all(m.authorization == "Bearer s3cret" and m.id == m.idempotency_key
               for m in sms.messages)
    assert sms.messages[0].text == MESSAGE.sms


async def test_sms_are_sent_side_by_side_on_every_connection_and_no_more(sms: SmsSink) -> None:
    sms.delay_s = 0.2  # a slow gateway: 3 connections send 6 SMS in two rounds
    sender = sms_sender(sms, connections=3)
    try:
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(
            *(sender.send(outbound(n, f"+21355500{n:04d}")) for n in range(6))
        )
        took = asyncio.get_running_loop().time() - started
        again = await sender.send(outbound(7, "+213555000007"))  # on a kept connection
    finally:
        await sender.close()
    assert results == [None] * 6
    assert again is None
    assert sms.connections == 3
    assert 0.4 <= took < 1.0


async def test_a_keep_alive_connection_closed_by_the_gateway_is_replaced(sms: SmsSink) -> None:
    sender = sms_sender(sms, connections=1)
    try:
        assert await sender.send(outbound(1, "+213555000001")) is None
        sms.drop_connections()  # the gateway's idle timeout ...
        await asyncio.sleep(0.05)  # ... noticed by the pool before the connection is reused
        assert await sender.send(outbound(2, "+213555000002")) is None
        sms.drop_connections()  # closed while the request is on its way: no answer ...
        failure = await sender.send(outbound(3, "+213555000003"))
        again = await sender.send(outbound(3, "+213555000003"))
    finally:
        await sender.close()
    if failure is not None:  # ... is worth another attempt, with the same key
        assert failure.transient
        assert failure.error.startswith("sms ")
    assert again is None
    assert [m.idempotency_key for m in sms.messages] == ["n-1", "n-2", "n-3"]
    assert sms.connections >= 3


async def test_gateway_statuses_and_silence_map_to_failures(sms: SmsSink) -> None:
    sms.script["+213555000001"] = [503, 400]
    sender = sms_sender(sms, connections=1, timeout_s=0.3)
    try:
        unavailable = await sender.send(outbound(1, "+213555000001"))
        bad = await sender.send(outbound(1, "+213555000001"))
        sms.delay_s = 1.0
        silent = await sender.send(outbound(2, "+213555000002"))
    finally:
        await sender.close()
    assert unavailable == Failure(True, "http 503")
    assert bad == Failure(False, "http 400")
    assert silent == Failure(True, "sms timeout")
