"""Dates and times as each language writes them, in the centre's local time.

Explicit Babel patterns only: the named formats ("full" time) print CLDR metazone names
for zones such as Africa/Algiers. The locale adds the centre's territory when CLDR has it
(ar_DZ writes Latin digits and the Maghreb month names; ar_EG Arabic-Indic digits).
"""

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale
from babel.core import UnknownLocaleError, get_global
from babel.dates import format_datetime


@dataclass(frozen=True)
class WhenPatterns:
    long: str  # e-mail: weekday, date, year and time
    short: str  # SMS: date and time


PATTERNS: dict[str, WhenPatterns] = {
    # "mercredi 3 décembre 2025 à 16 h 30"
    "fr": WhenPatterns("EEEE d MMMM y 'à' H 'h' mm", "d MMMM 'à' H 'h' mm"),
    # "الأربعاء 3 ديسمبر 2025، الساعة 16:30"
    "ar": WhenPatterns("EEEE d MMMM y، 'الساعة' HH:mm", "d MMMM، HH:mm"),
    # "Wednesday 3 December 2025 at 16:30"
    "en": WhenPatterns("EEEE d MMMM y 'at' HH:mm", "d MMMM 'at' HH:mm"),
}

_DIGITS = {"arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹"}


@lru_cache(maxsize=256)
def locale_for(language: str, timezone: str) -> Locale:
    """The language as written in the centre's country (ar_DZ for Africa/Algiers), or plain."""
    territory = get_global("zone_territories").get(timezone)
    if territory:
        try:
            return Locale.parse(f"{language}_{territory}")
        except UnknownLocaleError:
            pass  # no regional variant in CLDR: the plain language below
    return Locale.parse(language)


def _native_digits(text: str, locale: Locale) -> str:
    digits = _DIGITS.get(locale.default_numbering_system)
    return text.translate(str.maketrans("0123456789", digits)) if digits else text


@lru_cache(maxsize=4096)  # pure; the bookings of an outage share a few slot times
def format_when(value: dt.datetime, language: str, timezone: str, *, short: bool = False) -> str:
    """`value` (already in the centre's zone) in the language's own style."""
    locale = locale_for(language, timezone)
    patterns = PATTERNS[language]
    text = format_datetime(value, patterns.short if short else patterns.long, locale=locale)
    return _native_digits(text, locale)
