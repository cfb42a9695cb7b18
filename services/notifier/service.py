"""The use case: one notification request becomes claimed deliveries, one per channel.

This is where a request is deduplicated: the claim in the store, under the unique
(notification_id, channel), decides whether to send, to leave it to the send already under
way, or to publish the known outcome again.
"""

import datetime as dt
from collections.abc import Callable, Sequence

import structlog
from jinja2 import TemplateError

from schemas.data import NotificationRequested
from services.notifier.clock import Clock
from services.notifier.dispatcher import DispatchConfig, Dispatcher, sms_hold
from services.notifier.domain.dedupe import OnClaim, on_claim
from services.notifier.domain.model import CHANNELS, DeliveryKey, DeliveryState
from services.notifier.domain.request import InvalidRequest, channels_of
from services.notifier.metrics import NotifierMetrics
from services.notifier.store import DeliveryStore, NewDelivery

log = structlog.get_logger("reslot.notifier")


def plan_deliveries(
    request: NotificationRequested,
    now: dt.datetime,
    check_renders: Callable[[NotificationRequested], object],
    config: DispatchConfig,
) -> list[NewDelivery]:
    """The rows a request asks for: one per channel, failed at once if it cannot be sent."""
    channels = channels_of(request.recipient)

    def failed(error: str) -> list[NewDelivery]:
        return [
            NewDelivery(
                key=DeliveryKey(request.notification_id, channel),
                booking_id=request.booking_id,
                centre_id=request.centre_id,
                request=None,
                state=DeliveryState.FAILED,
                not_before=now,
                error=error,
            )
            for channel in channels or CHANNELS
        ]

    if not channels:
        return failed("no_contact")
    try:
        check_renders(request)
    except InvalidRequest as exc:
        return failed(f"invalid_request: {exc}")
    except TemplateError as exc:  # a template bug: reported as failed, never a blank message
        return failed(f"render_error: {type(exc).__name__}: {exc}")
    return [
        NewDelivery(
            key=DeliveryKey(request.notification_id, channel),
            booking_id=request.booking_id,
            centre_id=request.centre_id,
            request=request.model_dump_json(),
            state=DeliveryState.SENDING,
            not_before=(channel == "sms" and sms_hold(request, now, config)) or now,
        )
        for channel in channels
    ]


class Intake:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        check_renders: Callable[[NotificationRequested], object],
        dispatcher: Dispatcher,
        clock: Clock,
        config: DispatchConfig,
        metrics: NotifierMetrics,
    ) -> None:
        self._store = store
        self._check_renders = check_renders
        self._dispatcher = dispatcher
        self._clock = clock
        self._config = config
        self._metrics = metrics

    async def accept(self, requests: Sequence[NotificationRequested]) -> list[OnClaim]:
        """Claim the requests' deliveries durably, in one transaction; sending happens after,
        in the dispatcher. Returns the decision for each delivery, in order."""
        now = self._clock.now()
        planned = [
            row
            for request in requests
            for row in plan_deliveries(request, now, self._check_renders, self._config)
        ]
        claims = await self._store.claim(planned, self._config.owner, now, self._config.lease_s)
        decisions = []
        for claim in claims:
            decision = on_claim(claim.inserted, claim.row.state)
            decisions.append(decision)
            self._metrics.requests.labels(decision.value).inc()
            if decision is OnClaim.SEND and claim.row.not_before <= now:
                self._dispatcher.submit(claim.row.key)
            log.debug(
                "notification claimed",
                delivery=str(claim.row.key),
                booking_id=claim.row.booking_id,
                decision=decision.value,
                state=claim.row.state.value,
            )
        self._dispatcher.wake()  # publish the status of what was decided at once or before
        return decisions
