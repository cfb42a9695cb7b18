"""The status API: outages, centres, plans and decisions, as the read model has them."""

from fastapi import APIRouter, HTTPException

from services.web.deps import ReadModelDep
from services.web.models import Centre, Error, Outage, Plan, PlanSummary, Waiting

router = APIRouter(prefix="/api", tags=["status"])


@router.get("/outages", summary="Active and recent outages with their plans",
            operation_id="outages")
async def outages(read: ReadModelDep) -> list[Outage]:
    return await read.outages()


@router.get("/centres/{centre_id}", operation_id="centre",
            summary="Calendar load, displaced / moved / unplaced and plans of one centre",
            responses={404: {"model": Error, "description": "unknown centre"}})
async def centre(centre_id: str, read: ReadModelDep) -> Centre:
    found = await read.centre(centre_id)
    if found is None:
        raise HTTPException(404, "unknown centre")
    return found


@router.get("/waiting", operation_id="waiting",
            summary="Per centre: waiting, placed from the waiting list, restored, latest advice")
async def waiting(read: ReadModelDep) -> list[Waiting]:
    return await read.waiting()


@router.get("/plans", summary="Plan summaries", operation_id="plans")
async def plans(read: ReadModelDep) -> list[PlanSummary]:
    return await read.plans()


@router.get("/plans/{plan_id}", summary="One plan with its decisions and reason codes",
            operation_id="plan", responses={404: {"model": Error, "description": "unknown plan"}})
async def plan(plan_id: str, read: ReadModelDep) -> Plan:
    found = await read.plan(plan_id)
    if found is None:
        raise HTTPException(404, "unknown plan")
    return found
