"""What a route needs, handed over by FastAPI's dependency injection from `create_app`."""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from starlette.templating import Jinja2Templates

from services.web.probes import Probe
from services.web.readmodel import ReadModel

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Front:
    """Everything the routes share, built once by the factory (app.state.front)."""

    registry: CollectorRegistry
    probes: Mapping[str, Probe]
    read_model: ReadModel | None = None
    templates: Jinja2Templates | None = None
    clock: Clock = utc_now


def front(request: Request) -> Front:
    return cast(Front, request.app.state.front)


def read_model(request: Request) -> ReadModel:
    found = front(request).read_model
    assert found is not None, "a route of the front in an app without a read model"
    return found


def templates(request: Request) -> Jinja2Templates:
    found = front(request).templates
    assert found is not None, "a page in an app without templates"
    return found


FrontDep = Annotated[Front, Depends(front)]
ReadModelDep = Annotated[ReadModel, Depends(read_model)]
TemplatesDep = Annotated[Jinja2Templates, Depends(templates)]
