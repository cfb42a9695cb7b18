"""A FastStream KafkaBroker built from settings (security included), created on demand."""

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

from services.common.kafka import SESSION, client_options
from services.common.settings import KafkaSettings

FASTSTREAM_LOG = logging.getLogger("reslot.faststream")

__all__ = ["SESSION", "make_broker", "raw_body", "security_of", "tolerant_parser"]


def security_of(kafka: KafkaSettings) -> BaseSecurity | None:
    """FastStream's view of the same security settings `client_options` gives aiokafka."""
    if kafka.security_protocol == "PLAINTEXT":
        return None
    ssl_context = client_options(kafka).get("ssl_context")
    if kafka.security_protocol == "SSL":
        return BaseSecurity(ssl_context=ssl_context, use_ssl=True)
    use_ssl = kafka.security_protocol == "SASL_SSL"
    username = kafka.sasl_username or ""
    password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
    mechanism = kafka.sasl_mechanism or "PLAIN"
    if mechanism == "SCRAM-SHA-256":
        return SASLScram256(username, password, ssl_context=ssl_context, use_ssl=use_ssl)
    if mechanism == "SCRAM-SHA-512":
        return SASLScram512(username, password, ssl_context=ssl_context, use_ssl=use_ssl)
    return SASLPlaintext(username, password, ssl_context=ssl_context, use_ssl=use_ssl)


def make_broker(kafka: KafkaSettings, client_id: str, graceful_timeout: float) -> KafkaBroker:
    if not kafka.bootstrap_servers:
        raise ValueError("KAFKA_BOOTSTRAP_SERVERS is not set and no local broker was started")
    return KafkaBroker(
        kafka.bootstrap_servers,
        client_id=client_id,
        security=security_of(kafka),
        graceful_timeout=graceful_timeout,
        enable_idempotence=False,
        # per-message "Received/Processed" lines at DEBUG: our own logs say what happened
        log_level=logging.DEBUG,
        logger=FASTSTREAM_LOG,  # through our handler: JSON lines like every other log line
    )


Records = tuple[ConsumerRecord[Any, Any], ...]


def _readable_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    headers = [(k, (v or b"").decode("utf-8", "replace").encode()) for k, v in record.headers]
    return dataclasses.replace(record, headers=headers)


async def tolerant_parser(
    records: Records, original: Callable[[Records], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    """FastStream's parser fails on a header that is not UTF-8 (or null), before any handler
    could dead-letter the message; such headers are replaced so the handler sees it."""
    try:
        return await original(records)
    except (UnicodeDecodeError, AttributeError):
        return await original(tuple(_readable_headers(r) for r in records))


async def raw_body(message: StreamMessage[Any]) -> object:
    """No decoding by FastStream: the handler parses the bytes itself, and dead-letters them."""
    return message.body
