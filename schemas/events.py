"""One CloudEvent class per event type, and a discriminated union (on `type`) per topic."""

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from schemas import data as d
from schemas import replies as r
from schemas.envelope import CloudEvent


class CentreRegisteredEvent(CloudEvent[d.CentreRegistered]):
    type: Literal["visa.centre.registered.v1"] = Field(description="Event type.")


class SlotsPublishedEvent(CloudEvent[d.SlotsPublished]):
    type: Literal["visa.slots.published.v1"] = Field(description="Event type.")


class SlotsWithdrawnEvent(CloudEvent[d.SlotsWithdrawn]):
    type: Literal["visa.slots.withdrawn.v1"] = Field(description="Event type.")


class BookingCreatedEvent(CloudEvent[d.BookingCreated]):
    type: Literal["visa.booking.created.v1"] = Field(description="Event type.")


class BookingCancelledEvent(CloudEvent[d.BookingCancelled]):
    type: Literal["visa.booking.cancelled.v1"] = Field(description="Event type.")


class BookingMovedEvent(CloudEvent[d.BookingMoved]):
    type: Literal["visa.booking.moved.v1"] = Field(description="Event type.")


class OutageDeclaredEvent(CloudEvent[d.OutageDeclared]):
    type: Literal["visa.outage.declared.v1"] = Field(description="Event type.")


class OutageRevisedEvent(CloudEvent[d.OutageRevised]):
    type: Literal["visa.outage.revised.v1"] = Field(description="Event type.")


class OutageLiftedEvent(CloudEvent[d.OutageLifted]):
    type: Literal["visa.outage.lifted.v1"] = Field(description="Event type.")


class AppointmentRescheduledEvent(CloudEvent[d.AppointmentRescheduled]):
    type: Literal["visa.appointment.rescheduled.v1"] = Field(description="Event type.")


class AppointmentUnplacedEvent(CloudEvent[d.AppointmentUnplaced]):
    type: Literal["visa.appointment.unplaced.v1"] = Field(description="Event type.")


class PlanCompletedEvent(CloudEvent[d.PlanCompleted]):
    type: Literal["visa.plan.completed.v1"] = Field(description="Event type.")


class CapacityAdviceEvent(CloudEvent[d.CapacityAdvice]):
    type: Literal["visa.capacity.advice.v1"] = Field(description="Event type.")


class CapacityConflictEvent(CloudEvent[d.CapacityConflict]):
    type: Literal["visa.capacity.conflict.v1"] = Field(description="Event type.")


class NotificationRequestedEvent(CloudEvent[d.NotificationRequested]):
    type: Literal["visa.notification.requested.v1"] = Field(description="Event type.")


class NotificationDeliveredEvent(CloudEvent[d.NotificationDelivered]):
    type: Literal["visa.notification.delivered.v1"] = Field(description="Event type.")


class NotificationFailedEvent(CloudEvent[d.NotificationFailed]):
    type: Literal["visa.notification.failed.v1"] = Field(description="Event type.")


class DeadLetterEvent(CloudEvent[d.DeadLetter]):
    type: Literal["visa.deadletter.v1"] = Field(description="Event type.")


class OfferConfirmedEvent(CloudEvent[r.OfferConfirmed]):
    type: Literal["visa.offer.confirmed.v1"] = Field(description="Event type.")


class OfferDeclinedEvent(CloudEvent[r.OfferDeclined]):
    type: Literal["visa.offer.declined.v1"] = Field(description="Event type.")


class OfferChangedEvent(CloudEvent[r.OfferChanged]):
    type: Literal["visa.offer.changed.v1"] = Field(description="Event type.")


class OfferRefusedEvent(CloudEvent[r.OfferRefused]):
    type: Literal["visa.offer.refused.v1"] = Field(description="Event type.")


class AppointmentCancelledEvent(CloudEvent[r.AppointmentCancelled]):
    type: Literal["visa.appointment.cancelled.v1"] = Field(description="Event type.")


class PlanApprovedEvent(CloudEvent[r.PlanApproved]):
    type: Literal["visa.plan.approved.v1"] = Field(description="Event type.")


class BookingPinnedEvent(CloudEvent[r.BookingPinned]):
    type: Literal["visa.booking.pinned.v1"] = Field(description="Event type.")


class CallLoggedEvent(CloudEvent[r.CallLogged]):
    type: Literal["visa.call.logged.v1"] = Field(description="Event type.")


CentreEvent = CentreRegisteredEvent
CapacityEvent = Annotated[SlotsPublishedEvent | SlotsWithdrawnEvent, Field(discriminator="type")]
BookingEvent = Annotated[
    BookingCreatedEvent | BookingCancelledEvent | BookingMovedEvent, Field(discriminator="type")
]
OutageEvent = Annotated[
    OutageDeclaredEvent | OutageRevisedEvent | OutageLiftedEvent, Field(discriminator="type")
]
RescheduleEvent = Annotated[
    AppointmentRescheduledEvent
    | AppointmentUnplacedEvent
    | PlanCompletedEvent
    | CapacityAdviceEvent
    | CapacityConflictEvent
    | OfferRefusedEvent
    | AppointmentCancelledEvent,
    Field(discriminator="type"),
]
ReplyEvent = Annotated[
    OfferConfirmedEvent | OfferDeclinedEvent | OfferChangedEvent, Field(discriminator="type")
]
OpsEvent = Annotated[
    PlanApprovedEvent | BookingPinnedEvent | CallLoggedEvent, Field(discriminator="type")
]
NotificationEvent = NotificationRequestedEvent
NotificationStatusEvent = Annotated[
    NotificationDeliveredEvent | NotificationFailedEvent, Field(discriminator="type")
]
InputEvent = Annotated[
    CentreRegisteredEvent
    | SlotsPublishedEvent
    | SlotsWithdrawnEvent
    | BookingCreatedEvent
    | BookingCancelledEvent
    | BookingMovedEvent
    | OutageDeclaredEvent
    | OutageRevisedEvent
    | OutageLiftedEvent
    | OfferConfirmedEvent
    | OfferDeclinedEvent
    | OfferChangedEvent
    | PlanApprovedEvent
    | BookingPinnedEvent
    | CallLoggedEvent,
    Field(discriminator="type"),
]
AnyEvent = Annotated[
    CentreRegisteredEvent
    | SlotsPublishedEvent
    | SlotsWithdrawnEvent
    | BookingCreatedEvent
    | BookingCancelledEvent
    | BookingMovedEvent
    | OutageDeclaredEvent
    | OutageRevisedEvent
    | OutageLiftedEvent
    | AppointmentRescheduledEvent
    | AppointmentUnplacedEvent
    | PlanCompletedEvent
    | CapacityAdviceEvent
    | CapacityConflictEvent
    | NotificationRequestedEvent
    | NotificationDeliveredEvent
    | NotificationFailedEvent
    | DeadLetterEvent
    | OfferConfirmedEvent
    | OfferDeclinedEvent
    | OfferChangedEvent
    | OfferRefusedEvent
    | AppointmentCancelledEvent
    | PlanApprovedEvent
    | BookingPinnedEvent
    | CallLoggedEvent,
    Field(discriminator="type"),
]

INPUT_ADAPTER: TypeAdapter[Any] = TypeAdapter(InputEvent)
ANY_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyEvent)
NOTIFICATION_ADAPTER: TypeAdapter[Any] = TypeAdapter(
    Annotated[NotificationRequestedEvent, Field(discriminator="type")]
)

EVENT_CLASSES: tuple[type[CloudEvent[Any]], ...] = (
    CentreRegisteredEvent,
    SlotsPublishedEvent,
    SlotsWithdrawnEvent,
    BookingCreatedEvent,
    BookingCancelledEvent,
    BookingMovedEvent,
    OutageDeclaredEvent,
    OutageRevisedEvent,
    OutageLiftedEvent,
    AppointmentRescheduledEvent,
    AppointmentUnplacedEvent,
    PlanCompletedEvent,
    CapacityAdviceEvent,
    CapacityConflictEvent,
    NotificationRequestedEvent,
    NotificationDeliveredEvent,
    NotificationFailedEvent,
    DeadLetterEvent,
    OfferConfirmedEvent,
    OfferDeclinedEvent,
    OfferChangedEvent,
    OfferRefusedEvent,
    AppointmentCancelledEvent,
    PlanApprovedEvent,
    BookingPinnedEvent,
    CallLoggedEvent,
)


def event_type_of(cls: type[CloudEvent[Any]]) -> str:
    annotation = cls.model_fields["type"].annotation
    return str(annotation.__args__[0])  # type: ignore[union-attr]
