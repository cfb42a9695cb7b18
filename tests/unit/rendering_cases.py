"""What the rendering tests render: a request per template and language with the variables
the scheduler sends, and every case a template's optional variables make."""

from typing import Any

from schemas.data import NotificationRequested, Recipient
from services.notifier.rendering import TEMPLATES, RenderedMessage, Renderer

RENDERER = Renderer()


REASON = {"appointment_rescheduled": "next_days", "appointment_unplaced": "no_capacity_in_horizon",
          "appointment_restored": "restored", "reply_link": "next_days",
          "reply_help": "next_days"}
# What the reply front will put in messages (issue 13): a signed token makes a long URL.
REPLY = {
    "reply_url": "https://rdv.reslot.example/r/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf",
    "reply_by": "2025-12-02T11:30:00+01:00",
    "reply_code": "K7Q2",
}


def variables(template: str, **overrides: str) -> dict[str, str]:
    v = {
        "old_start": "2025-12-03T16:30:00+01:00",
        "timezone": "Africa/Algiers",
        "centre_name": "Capago Alger",
        "centre_address": "Lot 12, rue Ahmed Ouaked, Dely Ibrahim",
        "centre_city": "Alger",
        "service": "short_stay",
        "reason": REASON[template],
        "booking_id": "BK-2025-000123",
    }
    if template != "appointment_unplaced":
        v["new_start"] = "2025-12-04T09:00:00+01:00"
    if template == "reply_link":
        v["reply_url"] = REPLY["reply_url"]
        v["reply_by"] = REPLY["reply_by"]
    v.update(overrides)
    return v


def request(template: str, language: str, **overrides: Any) -> NotificationRequested:
    return NotificationRequested(
        notification_id="n-1",
        booking_id="BK-2025-000123",
        centre_id="capago-alger",
        template=template,  # type: ignore[arg-type]
        language=language,  # type: ignore[arg-type]
        recipient=Recipient(name="Amel Benali", email="amel@example.dz", phone="+213555000111"),
        variables=overrides.pop("variables", None) or variables(template, **overrides),
    )


def render(template: str, language: str, **overrides: Any) -> RenderedMessage:
    return RENDERER.render(request(template, language, **overrides))


PARTS = {"subject.txt": "subject", "body.txt": "text", "body.html": "html", "sms.txt": "sms"}
# Every template as the scheduler sends it, and the variants its optional variables make.
CASES: dict[str, tuple[str, dict[str, str]]] = {
    **{template: (template, {}) for template in TEMPLATES},
    "appointment_rescheduled+reply": ("appointment_rescheduled", REPLY),
    # restored for someone who was waiting: the slot they held is the original one
    "appointment_restored+waiting": ("appointment_restored",
                                     {"old_start": "2025-12-04T09:00:00+01:00"}),
    "appointment_restored+reply": ("appointment_restored", REPLY),
}
