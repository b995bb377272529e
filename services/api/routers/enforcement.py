"""Enforcement: arrests, seizures and key witnesses, sealed before they go on."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.clear import AffectedChild, ArrestAges, Child, ChildrenAges
from contracts.commands import (
    ArrestDetails,
    RecordArrest,
    RecordSeizure,
    RegisterWitness,
    SeizureDetails,
    WitnessDetails,
)
from services.api.access import (
    Caller,
)
from services.api.deps import (
    Door,
    check_operation,
    reply,
)
from services.api.door import FrontDoor
from services.api.idempotency import CommandId
from services.api.problems import Refused, responses

router = APIRouter()


@router.post(
    "/operations/{operation_id}/arrests", status_code=201, responses=responses(400, 404, 409, 503)
)
async def record_arrest(
    door: Door,
    operation_id: UUID,
    body: ArrestDetails,
    who: Caller,
    command_id: CommandId,
) -> JSONResponse:
    """An arrest. Personal details (names, address, notes) and ages are sealed with the
    household's key here, before they go anywhere: no service, stream or store holds them
    readable. The children travel on as references only."""
    await check_operation(door, who, operation_id, "record_arrest")
    personal = ages = None
    if body.personal is not None:
        personal = await door.keys.seal(body.household_ref, body.personal)
    if body.children or body.person_age is not None:
        given = ArrestAges(person_age=body.person_age, children=tuple(body.children))
        ages = await door.keys.seal(body.household_ref, given)
    facts = body.model_dump(exclude={"personal", "children", "person_age"})
    children = [AffectedChild(child_ref=child.child_ref) for child in body.children]
    command = RecordArrest(
        operation_id=operation_id,
        **facts,
        children=children,
        ages=ages,
        personal=personal,
        actor=who.actor,
        command_id=command_id,
    )
    return reply(await door.send("clear", "record_arrest", command))


@router.post(
    "/operations/{operation_id}/seizures", status_code=201, responses=responses(400, 404, 409, 503)
)
async def record_seizure(
    door: Door,
    operation_id: UUID,
    body: SeizureDetails,
    who: Caller,
    command_id: CommandId,
) -> JSONResponse:
    """A seizure, and where it was made in a home, the household and its children. The
    children's ages are sealed with the household's key here; they travel on as references."""
    await check_operation(door, who, operation_id, "record_seizure")
    children, ages = await sealed_children(door, body.household_ref, body.children)
    command = RecordSeizure(
        operation_id=operation_id,
        **body.model_dump(exclude={"children"}),
        children=children,
        ages=ages,
        actor=who.actor,
        command_id=command_id,
    )
    return reply(await door.send("clear", "record_seizure", command))


@router.post(
    "/operations/{operation_id}/witnesses", status_code=201, responses=responses(400, 404, 409, 503)
)
async def register_witness(
    door: Door,
    operation_id: UUID,
    body: WitnessDetails,
    who: Caller,
    command_id: CommandId,
) -> JSONResponse:
    """Register a key witness (an opaque reference) and their household for support; the
    children's ages are sealed with the household's key here, as for an arrest."""
    await check_operation(door, who, operation_id, "register_witness")
    children, ages = await sealed_children(door, body.household_ref, body.children)
    command = RegisterWitness(
        operation_id=operation_id,
        **body.model_dump(exclude={"children"}),
        children=children,
        ages=ages,
        actor=who.actor,
        command_id=command_id,
    )
    return reply(await door.send("clear", "register_witness", command))


async def sealed_children(
    door: FrontDoor, household_ref: str | None, children: list[Child]
) -> tuple[list[AffectedChild], str | None]:
    """Children as they travel on: references, and their ages sealed with the household's
    key (None when there are no children)."""
    if not children:
        return [], None
    if household_ref is None:  # SeizureDetails refuses children without a household
        reason = "children need the household_ref of the home they live in"
        error = {"field": "household_ref", "reason": reason, "loc": ["body", "household_ref"]}
        raise Refused(422, f"household_ref: {reason}", errors=[error])
    ages = await door.keys.seal(household_ref, ChildrenAges(children=tuple(children)))
    return [AffectedChild(child_ref=child.child_ref) for child in children], ages
