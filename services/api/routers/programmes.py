"""Funded programmes: panel decisions, spend and results."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.commands import (
    ChangeProgrammeCommand,
    PanelDecisionDetails,
    ProgrammeDetails,
    RegisterProgramme,
    ResultDetails,
    SpendDetails,
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
from services.api.door import FrontDoor
from services.api.identity import Identity
from services.api.paging import Page

router = APIRouter()


@router.post("/programmes", status_code=201)
async def register_programme(
    door: Door,
    body: ProgrammeDetails,
    who: Caller,
) -> JSONResponse:
    """A funded programme: provider, focus area, funding source, kind of agreement."""
    check_item(who, body.model_dump(), f"place {body.place}")
    command = RegisterProgramme(programme_id=uuid4(), **body.model_dump(), actor=who.actor)
    return reply(await door.send("build", "register_programme", command))


async def change_programme(
    door: FrontDoor, programme_id: UUID, action: str, details: dict[str, Any], who: Identity
) -> JSONResponse:
    programme = door.read_model.programmes.get(programme_id)
    check_item(who, programme, f"programme {programme_id}")
    command = ChangeProgrammeCommand(
        programme_id=programme_id, action=action, **details, actor=who.actor
    )
    return reply(await door.send("build", "change_programme", command))


@router.post("/programmes/{programme_id}/panel-decisions")
async def panel_decision(
    door: Door,
    programme_id: UUID,
    body: PanelDecisionDetails,
    who: Caller,
) -> JSONResponse:
    """A commissioning-panel decision; an approval commits its amount (exact decimal)."""
    return await change_programme(door, programme_id, "decide", body.model_dump(), who)


@router.post("/programmes/{programme_id}/spend")
async def record_spend(
    door: Door,
    programme_id: UUID,
    body: SpendDetails,
    who: Caller,
) -> JSONResponse:
    """Money spent; refused (409) if it would pass what the panel committed."""
    return await change_programme(door, programme_id, "spend", body.model_dump(), who)


@router.post("/programmes/{programme_id}/results")
async def report_result(
    door: Door,
    programme_id: UUID,
    body: ResultDetails,
    who: Caller,
) -> JSONResponse:
    """Reported results: people engaged, and cost with outcome value for the social return."""
    return await change_programme(door, programme_id, "report", body.model_dump(), who)


@router.get("/programmes")
async def list_programmes(
    door: Door, page: Page, who: Caller, place: str | None = None
) -> list[dict[str, Any]]:
    return page.apply(
        [
            p
            for p in scoped(who, door.read_model.programmes.values())
            if place is None or p["place"].casefold() == place.casefold()
        ]
    )
