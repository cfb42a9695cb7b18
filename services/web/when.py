"""Times as the applicant's language writes them, in the centre's local time.

Explicit Babel patterns (the named "full" formats print CLDR metazone names for zones such
as Africa/Algiers, DESIGN.md); the locale takes the centre's territory when CLDR has one
(ar_DZ writes Latin digits, as the messages the notifier sends do).
"""

import datetime as dt
from functools import lru_cache

from babel import Locale
from babel.core import UnknownLocaleError, get_global
from babel.dates import format_datetime

from services.web.readmodel import zone

LONG = {
    "fr": "EEEE d MMMM y 'à' H 'h' mm",  # mercredi 3 décembre 2025 à 16 h 30
    "ar": "EEEE d MMMM y، 'الساعة' HH:mm",  # الأربعاء 3 ديسمبر 2025، الساعة 16:30
    "en": "EEEE d MMMM y 'at' HH:mm",  # Wednesday 3 December 2025 at 16:30
}
CONSOLE = "EEE d MMM y HH:mm"  # the operators' console, in English: Wed 3 Dec 2025 16:30


@lru_cache(maxsize=64)
def _locale(language: str, timezone: str) -> Locale:
    territory = get_global("zone_territories").get(timezone)
    if territory:
        try:
            return Locale.parse(f"{language}_{territory}")
        except UnknownLocaleError:
            pass  # no regional variant in CLDR: the plain language
    return Locale.parse(language)


def spoken(value: dt.datetime, language: str, timezone: str) -> str:
    """`value` in `timezone`, as the applicant's language writes a date and time."""
    local = value.astimezone(zone(timezone))
    return format_datetime(local, LONG[language], locale=_locale(language, timezone))


def console(value: dt.datetime, timezone: str) -> str:
    """`value` in `timezone`, for the console: 'Wed 3 Dec 2025 16:30'."""
    return format_datetime(value.astimezone(zone(timezone)), CONSOLE, locale="en")


def local_iso(value: dt.datetime, timezone: str) -> str:
    """RFC 3339 in the centre's zone: what the notifier's variables carry."""
    return value.astimezone(zone(timezone)).isoformat()
