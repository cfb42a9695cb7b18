"""The shapes of every JSON answer: FastAPI turns them into the OpenAPI document.

Times are the same instants the scheduler stored, written in the centre's own time zone
(RFC 3339 with its offset), and each object says which zone that is.
"""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.data import Language
from schemas.reasons import MovedReason, PlanTrigger, UnplacedReason


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Error(Answer):
    error: str = Field(description="What went wrong, in a few words.")


class Health(Answer):
    status: Literal["ok"] = "ok"


class Ready(Answer):
    status: Literal["ready", "not ready"]
    checked: list[str] | None = Field(default=None,
                                      description="Dependencies checked (when ready).")
    failed: dict[str, str] | None = Field(default=None,
                                          description="Dependency -> error (when not ready).")


class PlanSummary(Answer):
    plan_id: str = Field(description="Deterministic id of the plan.")
    centre_id: str
    outage_id: str
    displaced: int = Field(ge=0, description="Bookings the outage displaced.")
    moved: int = Field(ge=0, description="Bookings moved to a new slot.")
    unplaced: int = Field(ge=0, description="Bookings left without a slot: the centre must call.")
    cost: int = Field(description="Objective value of the plan.")
    bound: int = Field(description="Best bound proven by the solver.")
    status: str = Field(description="Solver status, e.g. optimal, feasible.")
    solve_ms: int = Field(ge=0, description="Time to solve, in milliseconds.")
    timezone: str = Field(description="IANA time zone of the centre (UTC if unknown).")
    trigger: PlanTrigger = Field(default="outage", description="What caused the plan.")
    restored: int = Field(default=0, ge=0, description="Of `moved`: back in their own slot.")
    from_waiting: int = Field(default=0, ge=0,
                              description="Of `moved`: placed from the waiting list.")
    held: bool = Field(default=False, description="Held for review until approved.")


class Decision(Answer):
    booking_id: str
    kind: Literal["moved", "unplaced", "restored"] = Field(
        description="moved; unplaced = waiting for a place; restored = back in its slot.")
    from_start: dt.datetime = Field(description="Start of the displaced appointment, local.")
    to_start: dt.datetime | None = Field(
        description="Start of the new appointment, local; null if unplaced.")
    reason: MovedReason | UnplacedReason = Field(description="Reason code told to the applicant.")


class Plan(PlanSummary):
    decisions: list[Decision]


class Outage(Answer):
    outage_id: str
    start: dt.datetime = Field(description="Start, in `timezone`.")
    end: dt.datetime = Field(description="End, in `timezone`.")
    timezone: str = Field(description="Zone of its centres when they share one, else UTC.")
    services: list[str] | None = Field(description="Services affected; null = all.")
    reason: str
    active: bool = Field(description="Not lifted at one centre at least.")
    centres: list[str]
    displaced: int = Field(ge=0, description="Sum over the outage's plans.")
    moved: int = Field(ge=0, description="Sum over the outage's plans.")
    unplaced: int = Field(ge=0, description="Sum over the outage's plans.")
    plans: list[PlanSummary]


class CentreInfo(Answer):
    centre_id: str
    name: str
    city: str
    country: str
    timezone: str
    address: str
    languages: list[Language]


class ExtraPlaces(Answer):
    date: dt.date = Field(description="Local date at the centre.")
    service: str
    places: int = Field(gt=0, description="Extra places advised that day.")


class Advice(Answer):
    outage_id: str
    advice_id: str = Field(description="New with every change of the waiting list.")
    time: dt.datetime = Field(description="When it was given, in the centre's zone.")
    waiting: int = Field(ge=0, description="Waiting bookings it covers.")
    places: int = Field(ge=0, description="Extra places it asks for in all.")
    extra: list[ExtraPlaces]


class Waiting(Answer):
    """The centre's living calendar (CONTRACT v1.1): who waits, who found a place later."""

    centre_id: str
    waiting: int = Field(ge=0, description="Displaced bookings waiting for a place now.")
    placed_from_waiting: int = Field(ge=0, description="Placed later from the waiting list.")
    restored: int = Field(ge=0, description="Back in their own slot after a lift.")
    advice: list[Advice] = Field(description="The latest capacity advice per outage, newest "
                                             "first.")


class Centre(Answer):
    centre: CentreInfo
    active_bookings: int = Field(ge=0, description="Bookings currently held.")
    capacity: int = Field(ge=0, description="Places in the published calendar.")
    displaced: int = Field(ge=0, description="Sum over the centre's plans.")
    moved: int = Field(ge=0, description="Bookings whose current decision is a move.")
    unplaced: int = Field(ge=0, description="Bookings whose current decision is unplaced.")
    plans: list[PlanSummary]
    calendar: Waiting = Field(description="Its waiting list, later placements and advice.")


class ReplySent(Answer):
    """What a reply form posted by the page's script gets back."""

    event_id: str | None = Field(description="The event published; null when nothing was "
                                             "(the offer is answered already, or the slot "
                                             "was refused before publishing).")
    answer: str | None = Field(description="Poll this until the scheduler has answered.")
    page: str = Field(description="The page that shows the outcome.")


class ReplyAnswer(Answer):
    """The scheduler's answer to one reply, as the page polls it."""

    state: Literal["pending", "accepted", "refused"]
    reason: str = Field(description="Why it was refused (a refusal reason), else empty.")
    page: str = Field(description="The page that shows the outcome.")


class SmsAnswer(Answer):
    """What an inbound SMS did."""

    outcome: Literal["confirmed", "link", "help", "unknown_sender", "nothing_open"]
    published: int = Field(ge=0, description="Events published for it.")
