"""Render a request into subject, plain text, HTML and SMS text (Jinja2, StrictUndefined).

Templates live in templates/<language>/<template>/{subject.txt,body.txt,body.html,sms.txt};
HTML is autoescaped, text is not. A template that names a variable the context lacks raises
at render time (StrictUndefined): the snapshot tests render every template in every language.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2 import Template as JinjaTemplate

from schemas.data import NotificationRequested, Template
from services.notifier.domain.request import Facts, facts_of
from services.notifier.domain.segments import sms_segments
from services.notifier.rendering.formatting import format_when
from services.notifier.rendering.labels import reason_text, service_label
from services.notifier.rendering.sms import fit_sms

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("fr", "ar", "en")
TEMPLATES: tuple[Template, ...] = (
    "appointment_rescheduled",
    "appointment_unplaced",
    "appointment_restored",
    "reply_link",
    "reply_help",
)
PARTS = ("subject.txt", "body.txt", "body.html", "sms.txt")
DIRECTION = {"fr": "ltr", "ar": "rtl", "en": "ltr"}


@dataclass(frozen=True)
class RenderedMessage:
    language: str
    subject: str
    text: str
    html: str
    sms: str

    @property
    def sms_segments(self) -> int:
        return sms_segments(self.sms)


def make_environment(template_dir: Path = TEMPLATE_DIR) -> Environment:
    return Environment(
        loader=FileSystemLoader(template_dir),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _context(facts: Facts) -> dict[str, Any]:
    tz, lang = facts.timezone.key, facts.language
    context: dict[str, Any] = {
        "lang": lang,
        "dir": DIRECTION[lang],
        "name": facts.recipient_name,
        "centre_name": facts.centre_name,
        "centre_address": facts.centre_address,
        "centre_city": facts.centre_city,
        "booking_id": facts.booking_id,
        "service": service_label(lang, facts.service),
        "reason_text": reason_text(lang, facts.reason),
        "old_when": format_when(facts.old_start, lang, tz),
        "old_when_short": format_when(facts.old_start, lang, tz, short=True),
    }
    context["new_when"] = context["new_when_short"] = None
    if facts.new_start is not None:
        context["new_when"] = format_when(facts.new_start, lang, tz)
        context["new_when_short"] = format_when(facts.new_start, lang, tz, short=True)
    # restored: whether they held another time until now (else they were waiting for one)
    context["moved_before"] = facts.new_start is not None and facts.new_start != facts.old_start
    context["reply_url"] = facts.reply_url
    context["reply_code"] = facts.reply_code
    context["reply_by"] = context["reply_by_short"] = None
    if facts.reply_by is not None:
        context["reply_by"] = format_when(facts.reply_by, lang, tz)
        context["reply_by_short"] = format_when(facts.reply_by, lang, tz, short=True)
    return context


class Renderer:
    """Holds the loaded templates; `render` itself touches nothing outside memory."""

    def __init__(self, environment: Environment | None = None) -> None:
        self._env = environment or make_environment()
        # Loaded once: Environment.get_template checks the file on disk at every call.
        self._templates: dict[str, JinjaTemplate] = {}

    def _template(self, name: str) -> JinjaTemplate:
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = self._env.get_template(name)
        return template

    def _part(self, facts: Facts, part: str, context: dict[str, Any]) -> str:
        name = f"{facts.language}/{facts.template}/{part}"
        text = self._template(name).render(context).strip()
        if not text:
            raise ValueError(f"template {name} rendered an empty text")
        return text

    def render_facts(self, facts: Facts) -> RenderedMessage:
        context = _context(facts)
        subject = " ".join(self._part(facts, "subject.txt", context).split())
        context["subject"] = subject

        def sms_with(centre_name: str, compact: bool) -> str:
            text = self._part(facts, "sms.txt",
                              {**context, "centre_name": centre_name, "compact": compact})
            return " ".join(text.split())  # one line: template line breaks are not SMS text

        return RenderedMessage(
            language=facts.language,
            subject=subject,
            text=self._part(facts, "body.txt", context) + "\n",
            html=self._part(facts, "body.html", context) + "\n",
            sms=fit_sms(sms_with, facts.centre_name, facts.language, keep=facts.reply_url),
        )

    def render(self, request: NotificationRequested) -> RenderedMessage:
        """The message for `request`; InvalidRequest when its variables do not allow one."""
        return self.render_facts(facts_of(request))
