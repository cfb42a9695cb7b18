"""Liveness, readiness (no token: the orchestrator calls them) and Prometheus metrics."""

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.web.deps import FrontDep
from services.web.models import Health, Ready
from services.web.probes import readiness

open_router = APIRouter(tags=["probes"])
metrics_router = APIRouter(tags=["probes"])


@open_router.get("/healthz", summary="Process up", operation_id="healthz")
async def healthz() -> Health:
    return Health()


@open_router.get("/readyz", summary="Dependencies reachable", operation_id="readyz",
                 response_model_exclude_none=True,
                 responses={503: {"model": Ready, "description": "not ready"}})
async def readyz(front: FrontDep, response: Response) -> Ready:
    ready = await readiness(front.probes)
    if ready.status != "ready":
        response.status_code = 503
    return ready


@metrics_router.get("/metrics", summary="Prometheus metrics", operation_id="metrics",
                    response_class=Response,
                    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {
                        "schema": {"type": "string"}}}, "description": "text exposition"}})
async def metrics(front: FrontDep) -> Response:
    return Response(generate_latest(front.registry), media_type=CONTENT_TYPE_LATEST)
