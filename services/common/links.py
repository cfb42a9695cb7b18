"""The applicant's personal reply link: a signed, expiring token that names only the offer.

    token = base64url(offer id (16 bytes) + expiry (unix minutes, 4 bytes))
            + "." + base64url(HMAC-SHA256(secret, "reslot-reply|" + payload)[:12])

No personal data travels in the URL: the offer id is a uuid derived by the scheduler. The
first secret of `RESLOT_LINK_SECRETS` signs; every one of them verifies, so a secret is
rotated by putting the new one first and dropping the old one once its links expired.
The scheduler signs (it writes the message), the web front verifies (it shows the page).
"""

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Sequence

_CONTEXT = b"reslot-reply|"
_CODE_CONTEXT = b"reslot-code|"
_MAC_BYTES = 12  # 96 bits: out of reach of guessing, short enough for an SMS
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


class BadLink(ValueError):
    """Not a link we signed (tampered, truncated, another secret)."""


class ExpiredLink(ValueError):
    """A link we signed whose time is over."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(offer_id: str, expires: dt.datetime, secret: str) -> str:
    """The token of `offer_id` (a uuid), valid until `expires`."""
    minutes = int(expires.timestamp()) // 60
    payload = uuid.UUID(offer_id).bytes + minutes.to_bytes(4, "big")
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify(token: str, secrets: Sequence[str], now: dt.datetime) -> str:
    """The offer id of a token signed with one of `secrets` and not expired at `now`."""
    try:
        body, mac = token.split(".")
        payload, given = _unb64(body), _unb64(mac)
    except (ValueError, UnicodeError) as exc:  # binascii.Error is a ValueError
        raise BadLink("malformed link") from exc
    if len(payload) != 20 or len(given) != _MAC_BYTES:
        raise BadLink("malformed link")
    if not any(hmac.compare_digest(_mac(s, payload), given) for s in secrets):
        raise BadLink("link not signed by us")
    expires = int.from_bytes(payload[16:], "big") * 60
    if now.timestamp() >= expires:
        raise ExpiredLink("link expired")
    return str(uuid.UUID(bytes=payload[:16]))


def reply_code(offer_id: str, secret: str, length: int = 6) -> str:
    """A short code for answering one offer by SMS ("1 K7PQ2M"): derived, not stored."""
    digest = hmac.new(secret.encode(), _CODE_CONTEXT + offer_id.encode(), hashlib.sha256)
    number = int.from_bytes(digest.digest()[:8], "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(_CODE_ALPHABET))
        chars.append(_CODE_ALPHABET[index])
    return "".join(chars)
