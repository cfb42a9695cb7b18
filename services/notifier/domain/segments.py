"""How many SMS parts a text takes (3GPP TS 23.038 GSM 7-bit default alphabet, else UCS-2).

A single GSM-7 SMS holds 160 septets, a part of a concatenated one 153 (the rest is the
header); characters of the extension table take two septets and an escape pair is never split
across parts. UCS-2 holds 70 UTF-16 code units, 67 per part; a surrogate pair is never split.
"""

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}
MAX_SEGMENTS = 3

Encoding = Literal["gsm7", "ucs2"]


@dataclass(frozen=True)
class SmsSize:
    encoding: Encoding
    units: int  # septets (gsm7) or UTF-16 code units (ucs2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _unit_widths(text: str, encoding: Encoding) -> list[int]:
    if encoding == "gsm7":
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def _parts(widths: list[int], capacity: int) -> int:
    parts, used = 1, 0
    for width in widths:
        if used + width > capacity:  # the pair would straddle the boundary: next part
            parts, used = parts + 1, 0
        used += width
    return parts


def sms_size(text: str) -> SmsSize:
    """Encoding, length in units and number of SMS parts of `text` (at least one)."""
    encoding: Encoding = "gsm7" if is_gsm7(text) else "ucs2"
    widths = _unit_widths(text, encoding)
    units = sum(widths)
    segments = 1 if units <= SINGLE[encoding] else _parts(widths, PART[encoding])
    return SmsSize(encoding, units, segments)


def sms_segments(text: str) -> int:
    return sms_size(text).segments
