"""`reslot dev` sends messages where the settings say: the configured SMTP server and SMS
gateway when RESLOT_SMTP_HOST / RESLOT_SMS_URL are set, sinks of its own only when not."""

import asyncio
from pathlib import Path

import pytest

from services.common.local_broker import free_port
from services.common.settings import KafkaSettings, Settings
from services.dev import run_dev, sinks_to_start
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from tests.builders import at, booking, centre, line, outage, slots
from tests.conftest import eventually

PEOPLE = 3


def test_own_sinks_only_for_what_the_environment_leaves_unset(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RESLOT_SMTP_HOST", "RESLOT_SMTP_PORT", "RESLOT_SMS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert sinks_to_start(Settings()) == (True, True)
    monkeypatch.setenv("RESLOT_SMTP_HOST", "mailpit.internal")
    assert sinks_to_start(Settings()) == (False, True)
    monkeypatch.delenv("RESLOT_SMTP_HOST")
    monkeypatch.setenv("RESLOT_SMTP_PORT", "2525")  # a local server on another port
    monkeypatch.setenv("RESLOT_SMS_URL", "http://gateway.internal/sms")
    assert sinks_to_start(Settings()) == (False, False)
    # a copy with other values changed (the broker, the port) keeps what was configured
    copied = Settings().model_copy(update={"http_port": 1})
    assert sinks_to_start(copied) == (False, False)


def _scenario(path: Path) -> Path:
    people = [booking(f"dev-b{n}", at(3, 9), applicant={
        "name": f"Amine Dev{n}", "language": "fr", "email": f"dev{n}@courriel.dz",
        "phone": f"+21355500000{n}"}) for n in range(PEOPLE)]
    lines = [line("visa.centre.registered.v1", centre()),
             line("visa.slots.published.v1", slots([at(3, 9), at(3, 14), at(4, 9)], 3)),
             *(line("visa.booking.created.v1", p) for p in people),
             line("visa.outage.declared.v1", outage("dev-o1", at(3, 8), at(3, 12)),
                  subject="")]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_reslot_dev_delivers_to_the_configured_smtp_server_and_sms_gateway(
    kafka: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    smtp = await SmtpSink().start()
    sms = await SmsSink().start()
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=kafka), http_port=free_port(),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}",
        smtp_host="127.0.0.1", smtp_port=smtp.port, sms_url=sms.url,
        quiet_hours_start=0, quiet_hours_end=0)  # no quiet hours: the SMS go at any hour
    stop = asyncio.Event()
    dev = asyncio.create_task(run_dev(settings, stop, _scenario(tmp_path / "dev.jsonl")))
    try:
        async def delivered() -> bool:
            assert not dev.done(), dev
            return len(smtp.messages) >= PEOPLE and len(sms.messages) >= PEOPLE

        await eventually(delivered, timeout=90)
    finally:
        stop.set()
        await asyncio.wait_for(dev, timeout=60)
        await smtp.stop()
        await sms.stop()
    printed = capsys.readouterr().out
    assert f"E-mail to:   127.0.0.1:{smtp.port} (configured)" in printed
    assert f"SMS to:      {sms.url} (configured)" in printed
    assert "a local sink" not in printed
    recipients = sorted(r for m in smtp.messages for r in m.recipients)
    assert recipients == [f"dev{n}@courriel.dz" for n in range(PEOPLE)]
    assert {m.to for m in sms.messages} == {f"+21355500000{n}" for n in range(PEOPLE)}


def test_the_front_works_out_of_the_box_with_secrets_of_the_run_s_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from services import dev

    monkeypatch.setattr(dev, "CONSOLE_TOKEN_FILE", tmp_path / "console-token")
    for name in ("RESLOT_LINK_SECRETS", "RESLOT_CONSOLE_TOKEN", "RESLOT_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    first = dev.front_secrets(Settings(http_port=8123))
    second = dev.front_secrets(Settings(http_port=8123))
    assert len(first.link_secret_list()) == 1
    assert first.link_secret_list() != second.link_secret_list()  # a run's own
    token = (tmp_path / "console-token").read_text().strip()
    assert second.console_token is not None
    assert token == second.console_token.get_secret_value()
    assert (tmp_path / "console-token").stat().st_mode & 0o077 == 0  # the owner's only
    assert first.public_url == "http://127.0.0.1:8123"
    monkeypatch.setenv("RESLOT_LINK_SECRETS", "configured")
    monkeypatch.setenv("RESLOT_CONSOLE_TOKEN", "chosen")
    monkeypatch.setenv("RESLOT_PUBLIC_URL", "https://reslot.example")
    kept = dev.front_secrets(Settings(http_port=8123))
    assert kept.link_secret_list() == ["configured"]
    assert kept.console_token is not None
    assert kept.console_token.get_secret_value() == "chosen"
    assert kept.public_url == "https://reslot.example"
