"""Everything the replies, the SMS route and the console share, built once by the factory
(app.state.web) and handed to the routes by FastAPI's dependency injection."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from starlette.templating import Jinja2Templates

from services.common.settings import Settings
from services.web.csrf import Csrf
from services.web.guesses import GuessLimiter
from services.web.operators import ConsoleAuth
from services.web.publisher import Publisher
from services.web.readconsole import ConsoleReads
from services.web.readreplies import ReplyReads


@dataclass(frozen=True)
class Web:
    settings: Settings
    publisher: Publisher
    replies: ReplyReads
    console: ConsoleReads
    csrf: Csrf
    guesses: GuessLimiter  # bad reply links, per address
    logins: GuessLimiter  # wrong console credentials (form, basic, bearer), per address
    auth: ConsoleAuth
    templates: Jinja2Templates
    clock: Callable[[], dt.datetime]

    @property
    def link_secrets(self) -> list[str]:
        return self.settings.link_secret_list()


def web(request: Request) -> Web:
    return cast(Web, request.app.state.web)


def client_of(request: Request) -> str:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For there)."""
    return request.client.host if request.client else "unknown"


WebDep = Annotated[Web, Depends(web)]
