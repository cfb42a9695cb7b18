"""The use case: one notification request becomes claimed deliveries, one per channel.

This is where a request is deduplicated: the claim in the store, under the unique
(notification_id, channel), decides whether to send, to leave it to the send already under
way, or to report the known outcome again. It is also where the notifications a request
supersedes are stopped (in the same transaction).
"""

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

import structlog
from jinja2 import TemplateError

from schemas.data import NotificationRequested
from services.common.clock import Clock
from services.notifier.dispatcher import DispatchConfig, Dispatcher, Prepared, sms_hold
from services.notifier.domain.dedupe import OnClaim, on_claim
from services.notifier.domain.model import CHANNELS, DeliveryKey, DeliveryState
from services.notifier.domain.request import InvalidRequest, channels_of
from services.notifier.domain.supersede import supersessions_of
from services.notifier.metrics import NotifierMetrics
from services.notifier.rendering import RenderedMessage
from services.notifier.store import DeliveryStore, NewDelivery

log = structlog.get_logger("reslot.notifier")

M = TypeVar("M")  # the rendered message


def plan_deliveries(
    request: NotificationRequested,
    now: dt.datetime,
    render: Callable[[NotificationRequested], object],
    config: DispatchConfig,
) -> list[NewDelivery]:
    """The rows a request asks for: one per channel, failed at once if it cannot be sent."""
    return plan_with_message(request, now, render, config)[0]


def plan_with_message(
    request: NotificationRequested,
    now: dt.datetime,
    render: Callable[[NotificationRequested], M],
    config: DispatchConfig,
) -> tuple[list[NewDelivery], M | None]:
    """The rows a request asks for: one per channel, failed at once if it cannot be sent;
    and its message, rendered once here for every channel (None when it cannot be)."""
    channels = channels_of(request.recipient)

    def failed(error: str) -> tuple[list[NewDelivery], None]:
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
        ], None

    if not channels:
        return failed("no_contact")
    try:
        message = render(request)
    except InvalidRequest as exc:
        return failed(f"invalid_request: {exc}")
    except TemplateError as exc:  # a template bug: reported as failed, never a blank message
        return failed(f"render_error: {type(exc).__name__}: {exc}")
    stored = request.model_dump_json()
    return [
        NewDelivery(
            key=DeliveryKey(request.notification_id, channel),
            booking_id=request.booking_id,
            centre_id=request.centre_id,
            request=stored,
            state=DeliveryState.SENDING,
            not_before=(channel == "sms" and sms_hold(request, now, config)) or now,
        )
        for channel in channels
    ], message


class Intake:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        render: Callable[[NotificationRequested], RenderedMessage],
        dispatcher: Dispatcher,
        clock: Clock,
        config: DispatchConfig,
        metrics: NotifierMetrics,
        reported: Callable[[], None] = lambda: None,  # status events in the outbox
    ) -> None:
        self._store = store
        self._reported = reported
        self._render = render
        self._dispatcher = dispatcher
        self._clock = clock
        self._config = config
        self._metrics = metrics

    async def accept(self, requests: Sequence[NotificationRequested]) -> list[OnClaim]:
        """Claim the requests' deliveries durably, in one transaction; sending happens after,
        in the dispatcher; stop the notifications they supersede. Returns the decision for
        each delivery, in order."""
        now = self._clock.now()
        planned: list[NewDelivery] = []
        # The request and message of each row as the store keeps it: the first one of a key.
        prepared: dict[DeliveryKey, Prepared] = {}
        for request in requests:
            rows, message = plan_with_message(request, now, self._render, self._config)
            planned += rows
            if message is not None:
                ready = Prepared(request, message)
                for new in rows:
                    prepared.setdefault(new.key, ready)
        supersessions = supersessions_of(requests)
        claims = await self._store.claim(
            planned, self._config.owner, now, self._config.lease_s, supersessions
        )
        decisions = []
        for claim in claims:
            row = claim.row
            decision = on_claim(claim.inserted, row.state)
            decisions.append(decision)
            self._metrics.requests.labels(decision.value).inc()
            if decision is OnClaim.SEND and row.not_before <= now:
                self._dispatcher.submit(row, prepared.get(row.key))
            log.debug(
                "notification claimed",
                delivery=str(row.key),
                booking_id=row.booking_id,
                decision=decision.value,
                state=row.state.value,
            )
        if OnClaim.REPORT in decisions or supersessions:
            self._reported()  # the status of what was decided at once, or before
        return decisions
