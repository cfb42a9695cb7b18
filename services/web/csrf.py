"""CSRF protection for every form of the front: a signed double-submit token.

A random nonce lives in a cookie (HttpOnly, SameSite=Strict, never readable by a script);
every form carries that nonce signed with the web secret and the form's scope (`reply`,
`console`). A POST is accepted only when its field is our signature, fresh, for that scope,
of the nonce its cookie holds: another site can neither read the cookie nor sign a field.
"""

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "reslot_csrf"
FIELD = "csrf"
MAX_AGE_S = 12 * 3600  # a page left open longer is opened again
R = TypeVar("R", bound=Response)


def _signer_on(clock: Callable[[], dt.datetime]) -> type[TimestampSigner]:
    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:  # the front's clock, so tests need no wall clock
            return int(clock().timestamp())
    return Signer


@dataclass(frozen=True)
class Issued:
    """A form's token and, when the browser had none, the nonce cookie to set with it."""

    token: str
    new_nonce: str | None


class Csrf:
    def __init__(self, secret: str, secure: bool, clock: Callable[[], dt.datetime]) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="reslot-csrf",
                                                  signer=_signer_on(clock))
        self._secure = secure

    def issue(self, request: Request, scope: str) -> Issued:
        """The token a form of `scope` carries, for the nonce the browser holds (or a new one)."""
        held = request.cookies.get(COOKIE, "")
        nonce = held if _plausible(held) else secrets.token_urlsafe(18)
        return Issued(self._serializer.dumps([nonce, scope]), None if nonce == held else nonce)

    def keep(self, response: R, issued: Issued) -> R:
        """`response` with the nonce cookie, when `issued` made a new one."""
        if issued.new_nonce is not None:
            response.set_cookie(COOKIE, issued.new_nonce, httponly=True, samesite="strict",
                                secure=self._secure, path="/")
        return response

    def valid(self, request: Request, field: object, scope: str) -> bool:
        held = request.cookies.get(COOKIE, "")
        if not isinstance(field, str) or not _plausible(held):
            return False
        try:
            nonce, signed_scope = self._serializer.loads(field, max_age=MAX_AGE_S)
        except (BadSignature, ValueError, TypeError):  # SignatureExpired is a BadSignature
            return False
        return signed_scope == scope and hmac.compare_digest(str(nonce).encode(), held.encode())


_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _plausible(nonce: str) -> bool:
    """A nonce we could have made (token_urlsafe): ASCII letters, digits, - and _ only;
    str.isalnum() also takes "é", which compare_digest then refused with a TypeError."""
    return _NONCE.fullmatch(nonce) is not None
