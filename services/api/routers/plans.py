"""Resilience plans per place, their milestones and the Hold-to-Build gate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from contracts.commands import (
    AddMilestone,
    CheckInDetails,
    CheckInMilestone,
    DecideGate,
    GateDetails,
    MilestoneDetails,
)
from services.api.access import (
    Caller,
)
from services.api.deps import (
    Door,
    check_item,
    reply,
    scoped,
)
from services.api.paging import Page

router = APIRouter()


@router.get("/plans")
async def list_plans(door: Door, page: Page, who: Caller) -> list[dict[str, Any]]:
    return page.apply(scoped(who, door.read_model.plans.values()))


@router.get("/plans/{place}")
async def get_plan(door: Door, place: str, who: Caller) -> dict[str, Any]:
    """A place's resilience plan: its phase, the gate decision, and its milestones."""
    check_item(who, {"place": place}, f"place {place}")
    plan = door.read_model.plans.get(place.casefold())
    if plan is None:
        raise HTTPException(status_code=404, detail=f"no resilience plan for {place}")
    return {**plan, "milestones": door.read_model.list_milestones(place=place)}


@router.post("/plans/{place}/gate")
async def decide_gate(
    door: Door,
    place: str,
    body: GateDetails,
    who: Caller,
) -> JSONResponse:
    """The leadership group moves the plan from Hold to Build: refused (409, naming what
    is missing) without the chair's sign-off, three agencies including iwi, and evidence."""
    check_item(who, {"place": place}, f"place {place}")
    command = DecideGate(place=place, **body.model_dump(), actor=who.actor)
    return reply(await door.send("build", "decide_gate", command))


@router.post("/plans/{place}/milestones", status_code=201)
async def add_milestone(
    door: Door,
    place: str,
    body: MilestoneDetails,
    who: Caller,
) -> JSONResponse:
    check_item(who, {"place": place}, f"place {place}")
    command = AddMilestone(place=place, **body.model_dump(), actor=who.actor)
    return reply(await door.send("build", "add_milestone", command))


@router.get("/milestones")
async def list_milestones(
    door: Door, page: Page, who: Caller, operation_id: UUID | None = None, place: str | None = None
) -> list[dict[str, Any]]:
    return page.apply(scoped(who, door.read_model.list_milestones(operation_id, place)))


@router.post("/milestones/{milestone_id}/check-ins")
async def check_in_milestone(
    door: Door,
    milestone_id: UUID,
    body: CheckInDetails,
    who: Caller,
) -> JSONResponse:
    milestone = door.read_model.milestones.get(milestone_id)
    check_item(who, milestone, f"milestone {milestone_id}")
    command = CheckInMilestone(milestone_id=milestone_id, **body.model_dump(), actor=who.actor)
    return reply(await door.send("build", "check_in_milestone", command))
