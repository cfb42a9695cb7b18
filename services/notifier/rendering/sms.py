"""Short texts that fit few SMS parts: GSM-7 where the language allows it, at most three parts."""

import unicodedata
from collections.abc import Callable

from services.notifier.domain.segments import GSM7_BASIC, GSM7_EXTENSION, MAX_SEGMENTS, sms_size

# Latin characters outside GSM-7 that would force the whole SMS into UCS-2 (70 characters).
_GSM_SUBSTITUTES = {
    "œ": "oe",
    "Œ": "OE",
    "«": '"',
    "»": '"',
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
}


def _gsm_char(c: str) -> str:
    if c in GSM7_BASIC or c in GSM7_EXTENSION:
        return c
    if c in _GSM_SUBSTITUTES:
        return _GSM_SUBSTITUTES[c]
    if c == "ç":
        return "Ç"  # the GSM alphabet only has the capital; phones show it as ç
    base = unicodedata.normalize("NFKD", c)[0]  # ê → e, â → a, î → i, û → u
    return base if base in GSM7_BASIC else c


def to_gsm7(text: str) -> str:
    """Replace Latin letters and signs outside GSM-7 by their closest GSM-7 equivalent."""
    return "".join(_gsm_char(c) for c in text)


def fit_sms(render: Callable[[str], str], centre_name: str, language: str) -> str:
    """Render with the centre's name, shortened only as far as needed to fit three parts."""
    ellipsis = "…" if language == "ar" else "..."
    keep = len(centre_name)
    while True:
        name = centre_name if keep == len(centre_name) else centre_name[:keep].rstrip() + ellipsis
        text = render(name)
        if language != "ar":
            text = to_gsm7(text)
        if sms_size(text).segments <= MAX_SEGMENTS:
            return text
        if keep <= 12:
            return _truncate(text)
        keep = max(12, keep - 20)


def _truncate(text: str) -> str:
    """Last resort for absurd inputs: cut the text itself so it never exceeds three parts."""
    while sms_size(text).segments > MAX_SEGMENTS:
        text = text[:-1]
    return text
