"""The notifier's core, without Kafka, wired as create_app wires it to a real store, a real
SMTP server (aiosmtpd) and a real HTTP gateway: the intake, the dispatcher (ready queue,
sender, recorder) and the status relay, whose published events land in a list."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from schemas.data import NotificationRequested, Recipient
from schemas.events import ANY_ADAPTER
from services.common.clock import Clock, ShiftedClock
from services.common.kafka import Outgoing
from services.common.settings import Settings
from services.notifier.app import dispatch_config
from services.notifier.channels import Sender
from services.notifier.channels.sms import SmsSender
from services.notifier.channels.smtp import SmtpSender
from services.notifier.dispatcher import Dispatcher
from services.notifier.domain.dedupe import OnClaim
from services.notifier.domain.model import Channel
from services.notifier.domain.status import StatusEvent
from services.notifier.metrics import NotifierMetrics
from services.notifier.options import NotifierOptions
from services.notifier.ratelimit import TokenBucket
from services.notifier.relay import StatusRelay
from services.notifier.rendering import Renderer
from services.notifier.service import Intake
from services.notifier.sms_sink import SmsSink
from services.notifier.smtp_sink import SmtpSink
from services.notifier.store import DeliveryStore
from services.notifier.traces import Traces
from tests.builders import notification_variables
from tests.conftest import eventually

ALGIERS = ZoneInfo("Africa/Algiers")
DAYTIME = dt.datetime(2025, 12, 1, 10, 0, tzinfo=ALGIERS)  # no quiet hours, whatever the hour


def requested(
    n: int,
    *,
    language: str = "fr",
    email: str | None = "default",
    phone: str | None = "default",
    template: str = "appointment_rescheduled",
    booking: int | None = None,
    supersedes: tuple[int, ...] = (),
    **variables: str,
) -> NotificationRequested:
    """Notification n-`n` of booking BK-`booking` (default `n`), replacing n-`supersedes`."""
    booking = n if booking is None else booking
    v = notification_variables(booking)
    v.update(variables)
    return NotificationRequested(
        notification_id=f"n-{n}",
        booking_id=f"BK-{booking}",
        centre_id="capago-alger",
        template=template,  # type: ignore[arg-type]
        language=language,  # type: ignore[arg-type]
        recipient=Recipient(
            name="Amel Benali",
            email=f"applicant{booking}@example.dz" if email == "default" else email,
            phone=f"+21355500{booking:04d}" if phone == "default" else phone,
        ),
        variables=v,
        supersedes=tuple(f"n-{s}" for s in supersedes),
    )


@dataclass
class Rig:
    store: DeliveryStore
    intake: Intake
    dispatcher: Dispatcher
    relay: StatusRelay
    smtp: SmtpSink
    sms: SmsSink
    clock: Clock
    statuses: list[StatusEvent] = field(default_factory=list)

    async def accept(self, *requests: NotificationRequested) -> list[OnClaim]:
        return await self.intake.accept(list(requests))

    def outcome(self, notification_id: str, channel: str) -> StatusEvent:
        found = {
            e.id: e
            for e in self.statuses
            if e.data.notification_id == notification_id and e.data.channel == channel
        }
        assert len(found) == 1, f"expected one status event for {notification_id}/{channel}"
        return next(iter(found.values()))

    async def decided(self, count: int, timeout: float = 15) -> None:
        """Until status events of `count` distinct deliveries were published."""

        async def check() -> bool:
            keys = {(e.data.notification_id, e.data.channel) for e in self.statuses}
            return len(keys) >= count

        await eventually(check, timeout=timeout)


@asynccontextmanager
async def rig(
    store_url: str,
    *,
    smtp: SmtpSink | None = None,
    sms: SmsSink | None = None,
    clock: Clock | None = None,
    owner: str = "test-instance",
    lease_s: float = 30.0,
    sms_url: str | None = None,
    store_type: type[DeliveryStore] = DeliveryStore,
    max_in_flight: int = 64,
    **settings: object,
) -> AsyncIterator[Rig]:
    smtp = smtp or await SmtpSink().start()
    sms = sms or await SmsSink(token="s3cret").start()
    clock = clock or ShiftedClock(DAYTIME)
    values: dict[str, object] = {
        "notifier_database_url": store_url,
        "smtp_port": smtp.port,
        "sms_url": sms_url or sms.url,
        "sms_token": "s3cret",
        "send_backoff_base_s": 0.02,
        "send_backoff_max_s": 0.2,
        "send_max_attempts": 4,
    }
    config = Settings.model_validate(values | settings)
    options = NotifierOptions(instance_id=owner, lease_s=lease_s, sweep_interval_s=0.1,
                              max_in_flight=max_in_flight)
    store = await store_type.connect(config.notifier_db())
    statuses: list[StatusEvent] = []

    async def publish(messages: Sequence[Outgoing]) -> None:
        statuses.extend(ANY_ADAPTER.validate_json(m.value) for m in messages)

    renderer = Renderer()
    senders: dict[Channel, Sender] = {
        "email": SmtpSender.from_settings(config, timeout_s=5),
        "sms": SmsSender.from_settings(config, timeout_s=5),
    }
    cfg = dispatch_config(config, options)
    metrics = NotifierMetrics()
    relay = StatusRelay(store=store, publish=publish, clock=clock, traces=Traces(),
                        owner=owner, orphan_after_s=lease_s)
    dispatcher = Dispatcher(
        store=store,
        renderer=renderer,
        senders=senders,
        limits={
            "email": TokenBucket(config.email_rate_per_s, clock),
            "sms": TokenBucket(config.sms_rate_per_s, clock),
        },
        clock=clock,
        config=cfg,
        metrics=metrics,
        reported=relay.wake,
    )
    intake = Intake(store=store, render=renderer.render, dispatcher=dispatcher, clock=clock,
                    config=cfg, metrics=metrics, reported=relay.wake)
    await dispatcher.start()
    relaying = asyncio.create_task(relay.run())
    try:
        yield Rig(store, intake, dispatcher, relay, smtp, sms, clock, statuses)
    finally:
        await dispatcher.stop(grace_s=2)
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await relay.drain(timeout_s=5)
        for sender in senders.values():
            await sender.close()
        await store.close()
