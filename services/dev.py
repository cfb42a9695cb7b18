"""`reslot dev [--demo [capago|morocco]]`: broker, topics, scheduler, notifier, sinks and
the web front in one go; with --demo it plays a scenario (services/demo.py) and prints what
happens. Ctrl-C stops everything.
"""

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import SecretStr

from services.common.clock import Clock, SystemClock
from services.common.kafka import ensure_topics
from services.common.local_broker import free_port
from services.common.metrics import Metrics
from services.common.settings import Settings
from services.demo import Demo
from services.scheduler.app import create_app
from services.web.front import web_front
from services.web.readmodel import ReadModel
from services.web.server import serve

log = logging.getLogger("reslot.dev")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def sinks_to_start(settings: Settings) -> tuple[bool, bool]:
    """(SMTP, SMS): whether `reslot dev` must start a sink of its own for each, because none
    is configured (RESLOT_SMTP_HOST / RESLOT_SMTP_PORT, RESLOT_SMS_URL left unset)."""
    configured = settings.model_fields_set
    return not configured & {"smtp_host", "smtp_port"}, "sms_url" not in configured


@contextlib.asynccontextmanager
async def message_sinks(settings: Settings) -> AsyncIterator[Settings]:
    """The settings with somewhere to send messages: the configured SMTP server and SMS
    gateway, else local sinks started here (and stopped on exit), as for the broker."""
    from services.notifier.sms_sink import SmsSink
    from services.notifier.smtp_sink import SmtpSink

    smtp_needed, sms_needed = sinks_to_start(settings)
    update: dict[str, object] = {}
    async with contextlib.AsyncExitStack() as started:
        if smtp_needed:
            smtp = await SmtpSink().start()
            started.push_async_callback(smtp.stop)
            update.update(smtp_host="127.0.0.1", smtp_port=smtp.port)
        if sms_needed:
            sms = await SmsSink().start()
            started.push_async_callback(sms.stop)
            update["sms_url"] = sms.url
        settings = settings.model_copy(update=update)
        print(f"  E-mail to:   {settings.smtp_host}:{settings.smtp_port}"
              f" ({'a local sink' if smtp_needed else 'configured'})\n"
              f"  SMS to:      {settings.sms_url}"
              f" ({'a local sink' if sms_needed else 'configured'})", flush=True)
        yield settings


CONSOLE_TOKEN_FILE = Path("var/dev-console-token")


def front_secrets(settings: Settings) -> Settings:
    """`reslot dev` works out of the box: what the front needs and the environment leaves
    unset gets a fresh random value for this run only. Links are signed with a secret of
    the run's own; the console's token goes to a file readable by its owner only (never
    printed or logged); links point at this process's port."""
    update: dict[str, object] = {}
    if not settings.link_secret_list():
        update["link_secrets"] = SecretStr(secrets.token_urlsafe(32))
    if not (settings.console_token or settings.console_users or settings.console_proxy_header):
        token = secrets.token_urlsafe(24)
        CONSOLE_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
        CONSOLE_TOKEN_FILE.touch(mode=0o600)
        CONSOLE_TOKEN_FILE.write_text(token + "\n")
        update["console_token"] = SecretStr(token)
    if "public_url" not in settings.model_fields_set:
        update["public_url"] = f"http://127.0.0.1:{settings.http_port}"
    return settings.model_copy(update=update)


async def run_dev(settings: Settings, stop: asyncio.Event, scenario: Path | None,
                  clock: Clock | None = None) -> None:
    """Everything of Reslot in this process until `stop` is set, on one `clock` (the
    system's by default); `scenario`: a demo to play (services/demo.py)."""
    from services.notifier.app import create_app as notifier_app
    from services.notifier.metrics import NotifierMetrics

    await ensure_topics(settings)
    port = settings.http_port if settings.http_port and _port_free(settings.http_port) \
        else free_port()
    settings = front_secrets(settings.model_copy(update={"http_port": port}))
    clock = clock or SystemClock()
    async with message_sinks(settings) as settings:
        metrics = Metrics()
        notifier_metrics = NotifierMetrics()
        scheduler = create_app(settings, clock=clock, metrics=metrics)
        queries = ReadModel(scheduler.store.engine)
        app = web_front(settings, scheduler.store.engine, metrics.registry, clock=clock.now,
                        more_probes={"scheduler": scheduler.ready})
        tasks = [
            asyncio.create_task(scheduler.run(stop), name="scheduler"),
            asyncio.create_task(notifier_app(settings, clock=clock,
                                             metrics=notifier_metrics).run(stop),
                                name="notifier"),
            asyncio.create_task(serve(app, port, stop), name="status"),
        ]
        url = f"http://127.0.0.1:{port}"
        print(f"\n  Reslot is running (Ctrl-C stops).\n"
              f"  Status page:  {url}/\n"
              f"  API:          {url}/api/outages  {url}/api/plans  {url}/openapi.json\n"
              f"  Console:      {url}/ops/  (its token is in {CONSOLE_TOKEN_FILE} unless "
              f"RESLOT_CONSOLE_TOKEN is set)\n"
              f"  Replies:      links in the messages, {settings.public_url}/r/...\n"
              f"  Metrics:      {url}/metrics\n"
              f"  Broker:       {settings.kafka.bootstrap_servers}\n", flush=True)
        if scenario is not None:
            demo = Demo(settings, metrics, queries, notifier_metrics.registry, stop, url, clock)
            tasks.append(asyncio.create_task(demo.play(scenario), name="demo"))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None and not stop.is_set():
                log.error("%s failed: %r", task.get_name(), task.exception())
                stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    print("Reslot stopped.", flush=True)


__all__ = ["message_sinks", "run_dev", "sinks_to_start"]
