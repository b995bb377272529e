"""Playbooks: what an arrest sets in motion, by scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.commands import (
    AdoptPlaybook,
)
from services.api.access import (
    Caller,
)
from services.api.deps import (
    Door,
    check_item,
    check_operation,
    out_of_scope,
    reply,
)
from services.api.paging import Page
from services.hold.playbook import PlaybookInvalid, load_playbook_text

router = APIRouter()


class PlaybookAdoptionBody(BaseModel):
    toml: str = Field(min_length=1, max_length=200_000, description="the playbook, as TOML")
    place: str | None = Field(default=None, min_length=1, max_length=100)
    operation_id: UUID | None = None
    reason: str | None = Field(default=None, max_length=1000)


@router.post("/playbooks", status_code=201)
async def adopt_playbook(
    door: Door,
    body: PlaybookAdoptionBody,
    who: Caller,
) -> JSONResponse:
    """Adopt a playbook (TOML text) nationally, for a place, or for one operation. An
    invalid one is refused with every error listed, and the one in force stays."""
    if body.operation_id is not None:
        await check_operation(door, who, body.operation_id)
    elif body.place is not None:
        check_item(who, {"place": body.place}, f"place {body.place}")
    elif who.places or who.operations:
        raise out_of_scope(who, "a national playbook")
    try:
        playbook = load_playbook_text(body.toml)
    except PlaybookInvalid as error:
        return JSONResponse(status_code=422, content={"detail": str(error), "errors": error.errors})
    command = AdoptPlaybook(
        place=body.place,
        operation_id=body.operation_id,
        document=playbook.model_dump(),
        actor=who.actor,
        reason=body.reason,
    )
    return reply(await door.send("hold", "adopt_playbook", command))


@router.get("/playbooks")
async def list_playbooks(
    door: Door,
    page: Page,
) -> list[dict[str, Any]]:
    """The playbooks adopted, by scope; where none is, the national default is in force."""
    return page.apply(list(door.read_model.playbooks.values()))
