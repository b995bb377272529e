"""Playbooks: what an arrest sets in motion, by scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.commands import AdoptPlaybook
from services.api.access import (
    Caller,
)
from services.api.deps import Door, operation_for, out_of_scope, reply
from services.api.identity import Identity
from services.api.paging import Page
from services.api.problems import Refused, responses
from services.runtime.authorization import check, operation_visible, playbook_in_scope
from services.views.playbooks import PlaybookInvalid, check_playbook, in_force, scope_of
from services.views.rows import PlaybookRow, shown

router = APIRouter()


class PlaybookAdoptionBody(BaseModel):
    toml: str = Field(min_length=1, max_length=200_000, description="the playbook, as TOML")
    place: str | None = Field(default=None, min_length=1, max_length=100)
    operation_id: UUID | None = None
    reason: str | None = Field(default=None, max_length=1000)


@router.post("/playbooks", status_code=201, responses=responses(400, 404, 409, 503))
async def adopt_playbook(
    door: Door,
    body: PlaybookAdoptionBody,
    who: Caller,
) -> JSONResponse:
    """Adopt a playbook (TOML text) nationally, for a place, or for one operation. An
    invalid one is refused with every error listed, and the one in force stays."""
    check(who, "adopt_playbook")
    if body.operation_id is not None:
        await operation_for(door, who, body.operation_id, "adopt_playbook")
        scope, what = f"operation:{body.operation_id}", f"operation {body.operation_id}"
    elif body.place is not None:
        scope, what = scope_of(place=body.place), f"place {body.place}"
    else:
        scope, what = "national", "a national playbook"
    if not playbook_in_scope(who, scope, body.place):
        raise out_of_scope(who, what)
    try:
        # Its agencies against the register as the front door knows it; hold checks them again
        # against its own before it adopts the playbook.
        playbook = check_playbook(body.toml, door.read_model.agencies)
    except PlaybookInvalid as error:
        raise Refused(422, str(error), errors=playbook_errors(error.errors)) from None
    command = AdoptPlaybook(
        place=body.place,
        operation_id=body.operation_id,
        document=playbook.model_dump(),
        actor=who.actor,
        reason=body.reason,
    )
    return reply(await door.send("hold", "adopt_playbook", command))


@router.get("/playbooks")
async def list_playbooks(door: Door, page: Page, who: Caller) -> list[dict[str, Any]]:
    """The playbooks in force, by scope, that the caller may see: the national one (the
    default that ships with hold, ``default`` true, until one is adopted), those of the places
    their token covers, and those of operations they can see."""
    return page.apply(shown(in_force(door.read_model, lambda p: playbook_visible(door, who, p))))


def playbook_errors(lines: list[str]) -> list[dict[str, Any]]:
    """Each error of a refused playbook as a field and a reason, as every 422 lists them: the
    field is where in the playbook to fix it (``rules[0] (id 'a').task.lead_agency``), or
    ``toml`` when the text does not parse; ``loc`` is the request's field, the TOML text."""
    errors = []
    for line in lines:
        where, _, reason = line.partition(": ")
        if where == "not valid TOML" or not reason:
            where, reason = "toml", line
        errors.append({"field": where, "reason": reason, "loc": ["body", "toml"]})
    return errors


def playbook_visible(door: Door, who: Identity, adopted: PlaybookRow) -> bool:
    scope = adopted.scope
    if scope.startswith("place:"):
        return who.covers_place(scope.removeprefix("place:"))
    if scope.startswith("operation:"):
        operation = door.read_model.operations.get(UUID(scope.removeprefix("operation:")))
        return operation is not None and operation_visible(
            who, operation.status, operation.place, operation.operation_id
        )
    return True
