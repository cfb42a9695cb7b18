"""Kafka security settings reach aiokafka and FastStream the same way."""

import certifi
from faststream.security import SASLPlaintext, SASLScram512

from services.common.faststream_kafka import security_of
from services.common.kafka import client_options
from services.common.settings import KafkaSettings


def test_plaintext_has_no_security() -> None:
    kafka = KafkaSettings(bootstrap_servers="k:9092")
    assert security_of(kafka) is None
    assert client_options(kafka)["security_protocol"] == "PLAINTEXT"


def test_scram_512_over_tls_with_a_ca_file() -> None:
    kafka = KafkaSettings(bootstrap_servers="k:9093", security_protocol="SASL_SSL",
                          sasl_mechanism="SCRAM-SHA-512", sasl_username="reslot",
                          sasl_password="s3cret", ssl_cafile=certifi.where())
    options = client_options(kafka)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "reslot"
    assert options["sasl_plain_password"] == "s3cret"
    assert options["ssl_context"] is not None
    security = security_of(kafka)
    assert isinstance(security, SASLScram512)
    assert security.use_ssl
    assert "s3cret" not in repr(kafka)  # a SecretStr: never printed in logs


def test_plain_sasl_without_tls() -> None:
    kafka = KafkaSettings(bootstrap_servers="k:9092", security_protocol="SASL_PLAINTEXT",
                          sasl_username="u", sasl_password="p")
    security = security_of(kafka)
    assert isinstance(security, SASLPlaintext)
    assert not security.use_ssl
