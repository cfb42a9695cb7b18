"""Logging set-up: JSON lines (structlog) by default, readable console lines for `reslot dev`.

Every line carries level, logger, timestamp and, inside a traced operation, `trace_id` and
`span_id`; callers add `event_id`, `centre_id`, `outage_id`, `plan_id`, `notification_id`,
`booking_id` where they have them. Both structlog loggers and the standard library's go
through the same formatter.

No personal data: fields that could hold an applicant's name, e-mail address or phone
number are dropped, and e-mail addresses and international phone numbers found in any
text (a message, an error, a traceback) are masked, whatever the caller passed.
"""

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from services.common.tracing import current_ids

# Keys that never reach a log line, whatever their value.
PERSONAL_KEYS = frozenset({
    "name", "recipient", "recipient_name", "applicant", "email", "e_mail", "phone", "to",
    "address", "recipient_address", "body", "text", "html",
})
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w+])\+\d[\d ().-]{6,}\d")

EventDict = MutableMapping[str, Any]


def mask(text: str) -> str:
    """`text` with e-mail addresses and international phone numbers replaced."""
    if "@" in text:
        text = EMAIL.sub("[e-mail]", text)
    if "+" in text:
        text = PHONE.sub("[phone]", text)
    return text


def _scrub(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if str(k).lower() not in PERSONAL_KEYS}
    return mask(str(value))


def drop_personal_data(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key in [k for k in event_dict if k.lower() in PERSONAL_KEYS]:
        del event_dict[key]
    for key, value in event_dict.items():
        event_dict[key] = _scrub(value)
    return event_dict


def add_trace_ids(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """trace_id / span_id of the current span, unless the caller gave its own."""
    for key, value in current_ids().items():
        event_dict.setdefault(key, value)
    if event_dict.get("trace_id") is None:
        event_dict.pop("trace_id", None)
    return event_dict


def configure(level: str = "INFO", fmt: str = "json", cache: bool = True) -> None:
    """Route structlog and the standard library through one formatter on stderr; `cache`
    False (tests) lets a later reconfiguration reach loggers already used."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # a traceback is masked too
            drop_personal_data,
            renderer,
        ],
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # below the level: no processing at all
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=cache,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosqlite logs every statement with its parameters (applicants' names) at DEBUG.
    for noisy in ("aiokafka", "faststream", "kafka", "aiosmtpd", "mail.log", "httpx",
                  "uvicorn.error", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
