"""The agency register: which agencies exist, kept by the leadership group's chair (or an
administrator), read by everyone signed in. Hold keeps it (events); the lists here are the
read model's, which counts the seeded agencies from the API's start."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import JSONResponse

from contracts.agencies import AgencyKind
from contracts.commands import AgencyChange, AgencyRegistration, ChangeAgency, RegisterAgency
from services.api.access import Caller
from services.api.deps import Door, reply
from services.api.paging import Page
from services.api.problems import responses
from services.runtime.authorization import check, same_place
from services.views.rows import shown

router = APIRouter()

AgencyCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


@router.post("/agencies", status_code=201, responses=responses(400, 404, 409, 503))
async def register_agency(door: Door, body: AgencyRegistration, who: Caller) -> JSONResponse:
    """Add an agency to the register, with why: 409 if its code is taken."""
    check(who, "register_agency")
    command = RegisterAgency(**body.model_dump(), actor=who.actor)
    return reply(await door.send("hold", "register_agency", command))


@router.patch("/agencies/{code}", responses=responses(400, 404, 409, 503))
async def change_agency(
    door: Door, code: AgencyCode, body: AgencyChange, who: Caller
) -> JSONResponse:
    """Change an agency's name, kind or places (those given), with why: 404 if there is none."""
    check(who, "register_agency")
    command = ChangeAgency(code=code, **body.model_dump(), actor=who.actor)
    return reply(await door.send("hold", "change_agency", command))


@router.get("/agencies")
async def list_agencies(
    door: Door,
    page: Page,
    who: Caller,
    kind: AgencyKind | None = None,
    place: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> list[dict[str, Any]]:
    """The register, by code: ``kind`` filters, ``place`` keeps those serving it (national
    agencies serve every place)."""
    check(who, "read_agencies")
    agencies = sorted(door.read_model.agencies.values(), key=lambda a: a.code)
    return page.apply(
        shown(
            a
            for a in agencies
            if (kind is None or a.kind == kind)
            and (place is None or not a.places or same_place(place, a.places))
        )
    )


@router.get("/agencies/{code}", responses=responses(404))
async def get_agency(door: Door, code: AgencyCode, who: Caller) -> dict[str, Any]:
    """One agency and its history: who added it and changed it, when and why."""
    check(who, "read_agencies")
    agency = door.read_model.agencies.get(code)
    if agency is None:
        raise HTTPException(status_code=404, detail=f"no agency {code}")
    history = door.read_model.agency_history.get(code, [])
    return {**agency.as_json(), "history": shown(history)}
