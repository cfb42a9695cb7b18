"""Pages shown before anyone is known (a bad, expired or guessed link, a stale form): the
same short page in French, Arabic and English, with the status that says what happened,
and nothing else revealed."""

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from services.web.texts import LANGUAGES, NOTICES
from services.web.wiring import web


class Notice(Exception):
    """Answer with the notice `key` (texts.NOTICES) and `status`."""

    def __init__(self, status: int, key: str, retry_after_s: int | None = None) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.retry_after_s = retry_after_s


async def notice_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Notice)
    said = NOTICES[exc.key]
    body = web(request).templates.get_template("reply/notice.html").render(
        notices=[(lang, said[lang]) for lang in LANGUAGES])
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    return HTMLResponse(body, exc.status, headers=headers)
