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


def fit_sms(render: Callable[[str, bool], str], centre_name: str, language: str,
            keep: str | None = None) -> str:
    """Render `render(centre_name, compact)` as it fits three parts: as written; else compact
    (the template leaves out what the message can do without: the old time and the
    reference, when a link carries them); else with the centre's name shortened as far as
    needed. `keep` (the applicant's link) is never cut, whatever happens to the rest."""
    ellipsis = "…" if language == "ar" else "..."
    tries = [(centre_name, False), (centre_name, True)]
    # A name longer than three whole parts can never fit: its cuts start there, so a name
    # of any length costs a few dozen renders (one per 20 characters of 40,000 took 9 s).
    longest = min(len(centre_name), MAX_SEGMENTS * 160)
    for length in range(longest - 20, 11, -20):
        tries.append((centre_name[:length].rstrip() + ellipsis, True))
    if len(centre_name) > 12:
        tries.append((centre_name[:12].rstrip() + ellipsis, True))
    text = ""
    for name, compact in dict.fromkeys(tries):
        text = render(name, compact)
        if language != "ar":
            text = to_gsm7(text)
        if sms_size(text).segments <= MAX_SEGMENTS:
            return text
    return _truncate(text, keep)


def _truncate(text: str, keep: str | None) -> str:
    """Last resort for absurd inputs: cut the text so it never exceeds three parts, what
    comes before `keep` first, so that a link stays whole while it can."""
    head, tail = text, ""
    if keep and keep in text:
        at = text.index(keep)
        head, tail = text[:at], text[at:]
    head = head[:_longest_fitting(len(head), lambda n: head[:n] + tail)]
    text = head + tail
    return text[:_longest_fitting(len(text), lambda n: text[:n])]


def _longest_fitting(most: int, cut: Callable[[int], str]) -> int:
    """The largest n <= `most` whose `cut(n)` fits three parts (0 if none does), by halving:
    the parts a text takes only grow as characters are added. One character at a time,
    a 40,000-character link took a minute and a half."""
    if sms_size(cut(most)).segments <= MAX_SEGMENTS:
        return most
    fits, fails = 0, most  # cut(fits) fits (or fits == 0), cut(fails) does not
    while fails - fits > 1:
        middle = (fits + fails) // 2
        if sms_size(cut(middle)).segments <= MAX_SEGMENTS:
            fits = middle
        else:
            fails = middle
    return fits
