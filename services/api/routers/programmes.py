"""Funded programmes: each panel member's own vote, the panel's decision, spend and results.

As for plans (see routers/plans.py): the authorization table decides from the caller's role,
their agency's relation to the programme (its provider, or not) and whether their token covers
its place; a programme outside the token's places is answered as an unknown one."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from contracts.build_commands import (
    ChangeProgrammeCommand,
    PanelDecisionDetails,
    PanelVoteDetails,
    ProgrammeDetails,
    RegisterProgramme,
    ResultDetails,
    SpendDetails,
)
from contracts.place import same_place
from services.api.access import Caller
from services.api.deps import Door, check_agency, reply, scoped, settled
from services.api.door import FrontDoor
from services.api.identity import Identity
from services.api.paging import Page
from services.api.problems import responses
from services.runtime.authorization import check
from services.runtime.meta import derived_id
from services.runtime.sealing import place_ref
from services.views.access import no_programme, outside_scope, place_visible, programme_relation
from services.views.rows import shown

router = APIRouter()


@router.post("/programmes", status_code=201, responses=responses(400, 404, 409, 503))
async def register_programme(door: Door, body: ProgrammeDetails, who: Caller) -> JSONResponse:
    """A funded programme: provider (the agency whose lead reports its spend and results),
    focus area, funding source, kind of agreement."""
    check(who, "register_programme")
    if not place_visible(who, body.place):
        raise outside_scope(who, f"place {body.place}")
    # Build does not follow hold's stream, so it cannot know the register: the front door
    # checks the provider against its own view of it, as it does a milestone's owner.
    check_agency(door, "provider", body.provider)
    command = RegisterProgramme(programme_id=uuid4(), **body.model_dump(), actor=who.actor)
    answer = await door.send("build", "register_programme", command)
    if answer.status < 400:
        # The caller's next request (a vote, a result) sees the programme it registered.
        await door.settled(registered_event(command.programme_id))
    return reply(answer)


def registered_event(programme_id: UUID) -> UUID:
    """The id the programme's first event is published under (build's envelope ids)."""
    return derived_id("build", programme_id, 1)


async def change_programme(
    door: FrontDoor,
    who: Identity,
    programme_id: UUID,
    action: str,
    step: str,
    details: dict[str, Any],
) -> JSONResponse:
    """``action`` as the authorization table names it; ``step`` as build's command does."""
    programme = door.read_model.programmes.get(programme_id)
    if programme is not None:
        check(
            who,
            action,
            programme_relation(who, programme.provider),
            visible=place_visible(who, programme.place),
            hidden_as=no_programme(programme_id),
        )
    command = ChangeProgrammeCommand(
        programme_id=programme_id, action=step, **details, actor=who.actor
    )
    return reply(await settled(door, await door.send("build", "change_programme", command)))


@router.post("/programmes/{programme_id}/panel-votes", responses=responses(400, 404, 409, 503))
async def vote_on_programme(
    door: Door, programme_id: UUID, body: PanelVoteDetails, who: Caller
) -> JSONResponse:
    """A commissioning-panel member's own vote for a decision and amount (voting the same
    again changes nothing; a different vote replaces the voter's earlier one)."""
    details = body.model_dump()
    return await change_programme(door, who, programme_id, "vote_on_programme", "vote", details)


@router.post("/programmes/{programme_id}/panel-decisions", responses=responses(400, 404, 409, 503))
async def panel_decision(
    door: Door, programme_id: UUID, body: PanelDecisionDetails, who: Caller
) -> JSONResponse:
    """The panel's decision, recorded once at least three members have voted for this
    decision and amount since the last decision (409 naming how many more); the panel is who
    voted. An approval commits its amount (exact decimal)."""
    details = body.model_dump()
    return await change_programme(door, who, programme_id, "decide_programme", "decide", details)


@router.post("/programmes/{programme_id}/spend", responses=responses(400, 404, 409, 503))
async def record_spend(
    door: Door, programme_id: UUID, body: SpendDetails, who: Caller
) -> JSONResponse:
    """Money spent, reported by the provider's agency lead; refused (409) if it would pass
    what the panel committed."""
    details = body.model_dump()
    return await change_programme(door, who, programme_id, "record_spend", "spend", details)


@router.post("/programmes/{programme_id}/results", responses=responses(400, 404, 409, 503))
async def report_result(
    door: Door, programme_id: UUID, body: ResultDetails, who: Caller
) -> JSONResponse:
    """Results reported by the provider's agency lead: people engaged, and cost with outcome
    value for the social return. A note may name people: it is sealed with the place's key
    here, and shown only to the leadership group, the provider and auditors."""
    details = body.model_dump()
    note = details.pop("note", "").strip()
    programme = door.read_model.programmes.get(programme_id)
    if note and programme is None and await door.settled(registered_event(programme_id), 1.0):
        programme = door.read_model.programmes.get(programme_id)
    if note:
        if programme is None:
            raise HTTPException(status_code=404, detail=no_programme(programme_id))
        details["note"] = await door.keys.seal(place_ref(programme.place), note)
    return await change_programme(door, who, programme_id, "report_result", "report", details)


@router.get("/programmes")
async def list_programmes(
    door: Door, page: Page, who: Caller, place: str | None = None
) -> list[dict[str, Any]]:
    programmes = scoped(who, door.read_model.programmes.values())
    return page.apply(shown(p for p in programmes if place is None or same_place(p.place, place)))
