"""Times as the applicant's language writes them, in the centre's local time.

Explicit Babel patterns (the named "full" formats print CLDR metazone names for zones such
as Africa/Algiers, DESIGN.md); the locale takes the centre's territory when CLDR has one
(ar_DZ writes Latin digits, as the messages the notifier sends do).
"""

import datetime as dt

from babel.dates import format_datetime

from services.notifier.rendering.formatting import format_when
from services.web.readmodel import zone

CONSOLE = "EEE d MMM y HH:mm"  # the operators' console, in English: Wed 3 Dec 2025 16:30


def spoken(value: dt.datetime, language: str, timezone: str) -> str:
    """`value` in `timezone`, written as the applicant's messages write it (the notifier's
    one formatter: the page and the e-mail must say the same time the same way)."""
    return format_when(value.astimezone(zone(timezone)), language, timezone)


def console(value: dt.datetime, timezone: str) -> str:
    """`value` in `timezone`, for the console: 'Wed 3 Dec 2025 16:30'."""
    return format_datetime(value.astimezone(zone(timezone)), CONSOLE, locale="en")


def local_iso(value: dt.datetime, timezone: str) -> str:
    """RFC 3339 in the centre's zone: what the notifier's variables carry."""
    return value.astimezone(zone(timezone)).isoformat()
