"""The one place the front is put together: `create_app` for the status page and API,
`probe_app` for a service that only answers its probes and metrics (the notifier)."""

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from services.common.settings import Settings
from services.web import pages, security
from services.web.deps import Clock, Front, utc_now
from services.web.models import Error
from services.web.probes import Probe, broker_probe
from services.web.readmodel import ReadModel
from services.web.routes import api, documents, page, probes

TITLE = "Reslot status API"
VERSION = "1.1.0"
DESCRIPTION = ("Read-only view of outages, plans and decisions, times in each centre's own "
               "time zone. When RESLOT_API_TOKEN is set, every route but the probes and the "
               "static assets needs `Authorization: Bearer <token>`.")

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

UNAUTHORISED: dict[int | str, dict[str, object]] = {
    401: {"model": Error, "description": "Missing or wrong bearer token"}}


# Every request body, read before any route checks a link, a token or a form: 413 past this.
# The largest we take is a console form or an SMS (1,600 characters): a few kilobytes.
MAX_BODY_BYTES = 64 * 1024


def _bare(front: Front, token: SecretStr | None, title: str,
          lifespan: Lifespan | None = None) -> FastAPI:
    """An app with no route but the probes and metrics: headers, errors, token, HEAD."""
    app = FastAPI(title=title, version=VERSION, description=DESCRIPTION, openapi_url=None,
                  docs_url=None, redoc_url=None,  # Swagger UI and ReDoc load from a CDN
                  lifespan=lifespan, max_body_size=MAX_BODY_BYTES)
    app.state.front = front
    app.add_middleware(security.SecurityHeaders)
    app.add_middleware(security.HeadAsGet)
    app.add_exception_handler(StarletteHTTPException, security.http_error)
    app.add_exception_handler(Exception, security.server_error)
    app.include_router(probes.open_router)
    app.include_router(probes.metrics_router, dependencies=[Depends(security.token_guard(token))],
                       responses=UNAUTHORISED)
    return app


def create_app(settings: Settings, read_model: ReadModel, registry: CollectorRegistry,
               probes: Mapping[str, Probe], clock: Clock = utc_now,
               lifespan: Lifespan | None = None) -> FastAPI:
    """The front: probes, metrics, the status API and page, its documents, static assets."""
    front = Front(registry, dict(probes), read_model, pages.templates(), clock)
    app = _bare(front, settings.api_token, TITLE, lifespan)
    guarded = [Depends(security.token_guard(settings.api_token))]
    for router in (api.router, documents.router, page.router):
        app.include_router(router, dependencies=guarded, responses=UNAUTHORISED)
    # public: an applicant's page (later) needs the stylesheet without the operators' token
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app


def probe_app(registry: CollectorRegistry, probes: Mapping[str, Probe],
              token: SecretStr | None) -> FastAPI:
    """/healthz, /readyz and /metrics alone, for a service with no front."""
    return _bare(Front(registry, dict(probes)), token, "Reslot probes")


def store_probes(settings: Settings, read_model: ReadModel) -> dict[str, Probe]:
    """Readiness of a front on the scheduler's store: its tables answer; the broker too
    when one is configured."""
    found: dict[str, Probe] = {"database": read_model.ping}
    if settings.kafka.bootstrap_servers:
        found["broker"] = broker_probe(settings.kafka.bootstrap_servers)
    return found


def front_for(settings: Settings, engine: AsyncEngine, registry: CollectorRegistry,
              clock: Clock = utc_now, more_probes: Mapping[str, Probe] | None = None,
              ) -> FastAPI:
    """The front on the scheduler's store `engine`: what `reslot scheduler`, `reslot dev`
    and `reslot web` serve; `more_probes`: readiness of what runs beside it."""
    read_model = ReadModel(engine)
    probes = {**store_probes(settings, read_model), **(more_probes or {})}
    return create_app(settings, read_model, registry, probes, clock)
