"""Who is at the console, from settings only: the console token (as a bearer token, or as
the password of the login form), the console users (basic auth or the login form), or the
header an OIDC proxy in front of the console names the operator in. A browser that logged
in keeps its operator in a signed session cookie (Starlette's SessionMiddleware, /ops only).

Every act of the console is published with `by` = the operator named here.
"""

import base64
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from services.common.settings import Settings

TOKEN_OPERATOR = "console-token"  # `by` of an act authorised by the bearer token alone
SESSION_KEY = "operator"
SESSION_VIA = "via"  # how the session's operator signed in: "user" or "token"
MAX_NAME = 200


@dataclass(frozen=True)
class ConsoleAuth:
    token: str | None
    users: dict[str, str]
    proxy_header: str | None

    @classmethod
    def of(cls, settings: Settings) -> "ConsoleAuth":
        raw = settings.console_users.get_secret_value() if settings.console_users else ""
        users = {}
        for entry in raw.split(","):
            name, sep, password = entry.strip().partition(":")
            if sep and name.strip() and password:
                users[name.strip()] = password
        token = settings.console_token.get_secret_value() if settings.console_token else None
        return cls(token or None, users, settings.console_proxy_header or None)

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.users or self.proxy_header)

    @property
    def form_login(self) -> bool:
        return bool(self.token or self.users)

    def operator(self, request: Request) -> str | None:
        """The operator of `request`, or None: proxy header, Authorization, then session."""
        if self.proxy_header:
            named = request.headers.get(self.proxy_header, "").strip()
            if named:
                return named[:MAX_NAME]
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token:
            if hmac.compare_digest(credentials.strip().encode(), self.token.encode()):
                return TOKEN_OPERATOR
        elif scheme.lower() == "basic":
            name, password = _basic(credentials)
            if name is not None and self._user(name, password):
                return name
        if "session" not in request.scope:
            return None
        kept, via = request.session.get(SESSION_KEY), request.session.get(SESSION_VIA)
        if not isinstance(kept, str) or not kept:
            return None
        # Still allowed by the settings it signed in under: a user taken out of
        # RESLOT_CONSOLE_USERS, or a console token unset, ends the sessions it opened.
        if (via == "user" and kept in self.users) or (via == "token" and self.token):
            return kept
        return None

    def login(self, name: str, password: str) -> tuple[str, str] | None:
        """The operator a login form names and how (SESSION_VIA), when its password is right:
        a console user's own, or the console token (then the name typed is the operator's)."""
        name = name.strip()[:MAX_NAME]
        if not name or not password:
            return None
        if self._user(name, password):
            return name, "user"
        if self.token and hmac.compare_digest(password.encode(), self.token.encode()):
            return name, "token"
        return None

    def _user(self, name: str, password: str) -> bool:
        expected = self.users.get(name)
        # compared even for an unknown name, so the time taken does not tell names apart
        ok = hmac.compare_digest(password.encode(), (expected or "\0" + password).encode())
        return expected is not None and ok


def _basic(credentials: str) -> tuple[str | None, str]:
    try:  # binascii.Error and UnicodeDecodeError are ValueErrors, and so is a non-ASCII str
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except ValueError:
        return None, ""
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else (None, "")
