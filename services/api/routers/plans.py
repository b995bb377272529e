"""Resilience plans per place, their milestones, and the Hold-to-Build gate: each member's own
sign-off, then the chair's decision.

Who may act is the authorization table's answer (services/runtime/authorization.py) for the
caller's role, their agency's relation to the item and whether their token lets them see it at
all; build asks the same again when the command arrives. An item the read model does not know
yet goes to build as it is, and build answers (404 for an unknown id, as for a hidden one)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from contracts.build_commands import (
    AddMilestone,
    CheckInDetails,
    CheckInMilestone,
    DecideGate,
    GateDetails,
    MilestoneDetails,
    SignOffGate,
)
from contracts.place import place_key
from services.api.access import Caller
from services.api.deps import Door, check_agency, reply, scoped, settled
from services.api.door import FrontDoor
from services.api.notes import with_notes
from services.api.paging import Page
from services.api.problems import responses
from services.runtime.authorization import Caller as Who
from services.runtime.authorization import check
from services.runtime.meta import derived_id
from services.runtime.sealing import place_ref
from services.views.access import (
    milestone_relation,
    milestone_visible,
    no_milestone,
    no_plan,
    place_visible,
)
from services.views.rows import PlanRow, shown

router = APIRouter()


def plan_of(door: FrontDoor, place: str) -> PlanRow | None:
    return door.read_model.plans.get(place_key(place))


def check_plan(door: FrontDoor, who: Who, place: str, action: str) -> None:
    """A plan outside the token's places is answered as one that does not exist."""
    plan = plan_of(door, place)
    if plan is not None:
        check(who, action, visible=place_visible(who, plan.place), hidden_as=no_plan(place))


@router.get("/plans")
async def list_plans(door: Door, page: Page, who: Caller) -> list[dict[str, Any]]:
    return page.apply(shown(scoped(who, door.read_model.plans.values())))


@router.get("/plans/{place}", responses=responses(404))
async def get_plan(door: Door, place: str, who: Caller) -> dict[str, Any]:
    """A place's resilience plan: its phase, each member's sign-off of the move to Build, the
    gate decision, and its milestones."""
    plan = plan_of(door, place)
    visible = plan is not None and place_visible(who, plan.place)
    check(who, "read_plan", visible=visible, hidden_as=no_plan(place))
    assert plan is not None
    milestones = shown(scoped(who, door.read_model.list_milestones(place=plan.place)))
    return {**plan.as_json(), "milestones": await with_notes(door, who, milestones)}


@router.post("/plans/{place}/gate/sign-offs", responses=responses(400, 404, 409, 503))
async def sign_off_gate(door: Door, place: str, who: Caller) -> JSONResponse:
    """The caller's own sign-off of the place's move from Hold to Build (a leadership-group
    member or the chair; signing off again changes nothing)."""
    check_plan(door, who, place, "sign_off_gate")
    command = SignOffGate(place=place, actor=who.actor)
    return reply(await settled(door, await door.send("build", "sign_off_gate", command)))


@router.post("/plans/{place}/gate", responses=responses(400, 404, 409, 503))
async def decide_gate(door: Door, place: str, body: GateDetails, who: Caller) -> JSONResponse:
    """The chair moves the plan from Hold to Build on the evidence, once the members' own
    sign-offs are recorded: the chair's (deciding counts), members of at least three agencies,
    iwi among them; otherwise 409 naming what is missing."""
    check_plan(door, who, place, "decide_gate")
    command = DecideGate(place=place, **body.model_dump(), actor=who.actor)
    return reply(await settled(door, await door.send("build", "decide_gate", command)))


@router.post("/plans/{place}/milestones", status_code=201, responses=responses(400, 404, 409, 503))
async def add_milestone(
    door: Door, place: str, body: MilestoneDetails, who: Caller
) -> JSONResponse:
    check_plan(door, who, place, "add_milestone")
    # Build does not follow hold's stream: the front door checks the owner against the register.
    check_agency(door, "owner_agency", body.owner_agency)
    command = AddMilestone(place=place, **body.model_dump(), actor=who.actor)
    answer = await door.send("build", "add_milestone", command)
    if answer.status < 400 and "milestone_id" in answer.result:
        # The caller's next request (a check-in, most likely) sees the milestone it made.
        await door.settled(scheduled_event(UUID(answer.result["milestone_id"])))
    return reply(answer)


def scheduled_event(milestone_id: UUID) -> UUID:
    """The id the milestone's first event is published under (build's envelope ids)."""
    return derived_id("build", milestone_id, 1)


@router.get("/milestones")
async def list_milestones(
    door: Door, page: Page, who: Caller, operation_id: UUID | None = None, place: str | None = None
) -> list[dict[str, Any]]:
    milestones = page.apply(
        shown(scoped(who, door.read_model.list_milestones(operation_id, place)))
    )
    return await with_notes(door, who, milestones)


@router.post("/milestones/{milestone_id}/check-ins", responses=responses(400, 404, 409, 503))
async def check_in_milestone(
    door: Door, milestone_id: UUID, body: CheckInDetails, who: Caller
) -> JSONResponse:
    """A check-in by the milestone's owner agency or the leadership group. Its note may name
    people: it is sealed with the place's key here, and shown only to the leadership group,
    the owner agency and auditors."""
    milestone = door.read_model.milestones.get(milestone_id)
    if milestone is None and await door.settled(scheduled_event(milestone_id), within=1.0):
        milestone = door.read_model.milestones.get(milestone_id)
    if milestone is None:
        # The note cannot be sealed for a place unknown: not in the views even after a wait.
        raise HTTPException(status_code=404, detail=no_milestone(milestone_id))
    check(
        who,
        "check_in_milestone",
        milestone_relation(who, milestone.owner_agency),
        visible=milestone_visible(who, milestone.place, milestone.operation_id),
        hidden_as=no_milestone(milestone_id),
    )
    details = body.model_dump()
    details["note"] = await door.keys.seal(place_ref(milestone.place), details["note"])
    command = CheckInMilestone(milestone_id=milestone_id, **details, actor=who.actor)
    return reply(await settled(door, await door.send("build", "check_in_milestone", command)))
