"""`/`: the duty officer's page, rendered on each request, reloading itself."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.web.deps import FrontDep, ReadModelDep, TemplatesDep
from services.web.status_view import status_view

router = APIRouter(tags=["pages"])


@router.get("/", summary="Status page for the duty officer (HTML, reloads itself)",
            operation_id="page", response_class=HTMLResponse)
async def page(request: Request, front: FrontDep, read: ReadModelDep,
               templates: TemplatesDep) -> HTMLResponse:
    outages, delays, zones, waiting = await asyncio.gather(
        read.outages(), read.moved_delays_h(), read.zones(), read.waiting())
    view = status_view(outages, delays, zones, front.clock(), waiting)
    return templates.TemplateResponse(request, "status.html", {"view": view})
