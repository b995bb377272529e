"""Operations: plan, launch, conclude, staged support, and what each caller may see of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.commands import (
    ConcludeOperation,
    GetStagedSupport,
    LaunchOperation,
    OperationDetails,
    PlanOperation,
    StagedSupportDetails,
    StageSupport,
)
from services.api.access import Caller
from services.api.deps import Door, check_operation, held_by_clear, operation_for, reply
from services.api.idempotency import CommandId
from services.api.paging import Page
from services.api.problems import Refused, responses
from services.runtime.authorization import check_may_plan, operation_visible
from services.views.rows import shown

router = APIRouter()


@router.post("/operations", status_code=201, responses=responses(400, 409, 503))
async def plan_operation(
    door: Door,
    body: OperationDetails,
    who: Caller,
    command_id: CommandId,
) -> JSONResponse:
    check_may_plan(who, body.place)
    command = PlanOperation(**body.model_dump(), actor=who.actor, command_id=command_id)
    return reply(await door.send("clear", "plan_operation", command))


@router.post("/operations/{operation_id}/launch", responses=responses(400, 404, 409, 503))
async def launch_operation(door: Door, operation_id: UUID, who: Caller) -> JSONResponse:
    await check_operation(door, who, operation_id, "launch_operation")
    command = LaunchOperation(operation_id=operation_id, actor=who.actor)
    return reply(await door.send("clear", "launch_operation", command))


@router.post("/operations/{operation_id}/conclude", responses=responses(400, 404, 409, 503))
async def conclude_operation(door: Door, operation_id: UUID, who: Caller) -> JSONResponse:
    await check_operation(door, who, operation_id, "conclude_operation")
    command = ConcludeOperation(operation_id=operation_id, actor=who.actor)
    return reply(await door.send("clear", "conclude_operation", command))


@router.post(
    "/operations/{operation_id}/staged-support",
    status_code=201,
    responses=responses(400, 404, 409, 503),
)
async def stage_support(
    door: Door,
    operation_id: UUID,
    body: StagedSupportDetails,
    who: Caller,
) -> JSONResponse:
    """Before launch, the planning cell stages the support it expects to need; agencies
    see nothing of it until the operation launches, then it is theirs at once."""
    await operation_for(door, who, operation_id, "stage_support")
    details = body.model_dump()
    if body.note is not None:
        # A note may name people: sealed with the household's key, like a task's note, and
        # read only through the household's case once the operation launches.
        details["note"] = await door.keys.seal(body.household_ref, body.note)
    command = StageSupport(operation_id=operation_id, **details, actor=who.actor)
    return reply(await door.send("clear", "stage_support", command))


@router.get("/operations/{operation_id}/staged-support", responses=responses(404, 503))
async def staged_support(door: Door, operation_id: UUID, who: Caller) -> dict[str, Any]:
    await operation_for(door, who, operation_id, "read_staged_support")
    query = GetStagedSupport(operation_id=operation_id, actor=who.actor)
    result = await door.send("clear", "get_staged_support", query)
    if result.status >= 400:
        raise Refused(result.status, result.error or "refused")
    where = "the household's case, /cases/{case_id}/personal, once the operation launches"
    staged = [
        {**s, "note": {"withheld": "personal details", "read_at": where}} if s.get("note") else s
        for s in result.result.get("staged", [])
    ]
    return {**result.result, "staged": staged}


@router.get("/operations")
async def list_operations(door: Door, page: Page, who: Caller) -> list[dict[str, Any]]:
    """The operations the caller may see: within the token's scope, and a planned one only by
    its planning cell."""
    return page.apply(
        shown(
            op
            for op in door.read_model.operations.values()
            if operation_visible(who, op.status, op.place, op.operation_id)
        )
    )


@router.get("/operations/{operation_id}", responses=responses(404, 503))
async def get_operation(door: Door, operation_id: UUID, who: Caller) -> dict[str, Any]:
    """The operation as clear holds it now, with the trace of the event that planned it."""
    await operation_for(door, who, operation_id)
    # Now as clear holds it (clear checks again that this caller may see it).
    operation = await held_by_clear(door, who, operation_id)
    projected = door.read_model.operations.get(operation_id)
    trace = {
        "event_id": projected.event_id if projected else None,
        "causation_id": projected.causation_id if projected else None,
    }
    return {**operation, **trace, "correlation_id": str(operation_id)}


@router.get("/operations/{operation_id}/hold", responses=responses(404, 503))
async def hold_summary(door: Door, operation_id: UUID, who: Caller) -> dict[str, Any]:
    """Households, children, tasks by status, share done within due time, overdue tasks
    and open escalations for one operation."""
    await operation_for(door, who, operation_id)
    return door.read_model.hold_summary(operation_id, datetime.now(UTC))
