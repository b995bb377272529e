"""What every router shares: the front door, the answer to a command, and the checks that keep
an item within the caller's sight (the token's scope, a planned operation's planning cell)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from contracts.commands import CommandReply, GetOperation
from services.api.access import sees_planned_operation
from services.api.door import FrontDoor
from services.api.identity import Identity
from services.api.problems import Refused


async def front_door(request: Request) -> FrontDoor:  # async: no thread hop
    door: FrontDoor = request.app.state.door
    return door


Door = Annotated[FrontDoor, Depends(front_door)]


def reply(result: CommandReply) -> JSONResponse:
    """The owning service's answer as the HTTP answer; a refusal as a problem document."""
    if result.status >= 400:
        # e.g. a refused playbook lists every error it has
        raise Refused(result.status, result.error or "refused", **(result.result or {}))
    return JSONResponse(status_code=result.status, content=result.result)


def out_of_scope(who: Identity, what: str) -> HTTPException:
    limits = [*(f"place {p}" for p in who.places), *(f"operation {o}" for o in who.operations)]
    return HTTPException(
        status_code=403, detail=f"{what} is outside your token's scope ({', '.join(limits)})"
    )


async def held_by_clear(door: FrontDoor, operation_id: UUID) -> dict[str, Any]:
    result = await door.send("clear", "get_operation", GetOperation(operation_id=operation_id))
    if result.status >= 400:
        raise HTTPException(status_code=result.status, detail=result.error)
    return result.result


def check_visible(who: Identity, operation: dict[str, Any], operation_id: UUID) -> None:
    """404 for a planned operation outside the caller's planning cell (its existence is
    not revealed); 403 for one outside the token's scope."""
    if operation.get("status") == "planned" and not sees_planned_operation(who, operation):
        raise HTTPException(status_code=404, detail=f"no operation {operation_id}")
    if not who.covers_item(operation):
        raise out_of_scope(who, f"operation {operation_id}")


async def operation_for(door: FrontDoor, who: Identity, operation_id: UUID) -> dict[str, Any]:
    """The operation as the caller may see it (see ``check_visible``)."""
    # The read model may trail clear by a few milliseconds: then ask clear.
    operation = door.read_model.operations.get(operation_id) or await held_by_clear(
        door, operation_id
    )
    check_visible(who, operation, operation_id)
    return operation


async def check_operation(door: FrontDoor, who: Identity, operation_id: UUID) -> None:
    """A command about an operation: within the token's places and operations. Costs
    nothing for a token not limited to any (the usual case on the arrest path)."""
    if who.places or who.operations:
        await operation_for(door, who, operation_id)


def check_item(who: Identity, item: dict[str, Any] | None, what: str) -> None:
    if item is not None and not who.covers_item(item):
        raise out_of_scope(who, what)


def scoped(who: Identity, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if who.covers_item(i)]
