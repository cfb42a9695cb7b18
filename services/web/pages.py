"""The Jinja2 templates of the front (autoescaped) and the helpers they may call."""

from pathlib import Path

import jinja2
from starlette.templating import Jinja2Templates

from services.web.status_view import StatusView, advised, gap, ratio

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(advised=advised, gap=gap, ratio=ratio)
    return Jinja2Templates(env=env)


def render_status(found: Jinja2Templates, view: StatusView) -> str:
    """The status page as text: what the route sends, and what the unit tests read."""
    return found.get_template("status.html").render(view=view)
