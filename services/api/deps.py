"""What every router shares: the front door, the answer to a command, and the checks of the
authorization table (services/runtime/authorization.py) against the items the views hold.

Each check asks the table the same question the owning aggregate asks again when the command
arrives: may this caller do this action, given their agency's relation to the item, and is the
item visible to them at all (an item hidden from them is answered as an unknown id would be)?
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from contracts.agencies import not_registered
from contracts.commands import CommandReply, GetOperation
from services.api.door import FrontDoor
from services.api.identity import Identity
from services.api.problems import Refused
from services.runtime.authorization import (
    NotPermitted,
    Relation,
    check,
    operation_relation,
    operation_visible,
    permitted,
    sees_planned_operation,
)
from services.views.rows import Row

# An item of the views, of whichever kind: handed back as it came.
R = TypeVar("R", bound=Row)


async def front_door(request: Request) -> FrontDoor:  # async: no thread hop
    door: FrontDoor = request.app.state.door
    return door


Door = Annotated[FrontDoor, Depends(front_door)]


async def settled(door: FrontDoor, answer: CommandReply) -> CommandReply:
    """The answer, once the views show the event it names (``event_id``), so the sender's
    next read (a page after its form) shows their own change."""
    if answer.status < 400 and "event_id" in answer.result:
        await door.settled(UUID(answer.result["event_id"]))
    return answer


def reply(result: CommandReply) -> JSONResponse:
    """The owning service's answer as the HTTP answer; a refusal as a problem document."""
    if result.status >= 400:
        # e.g. a refused playbook lists every error it has
        raise Refused(result.status, result.error or "refused", **(result.result or {}))
    return JSONResponse(status_code=result.status, content=result.result)


def out_of_scope(who: Identity, what: str) -> NotPermitted:
    """For what the caller asks to make or filter by (a place, a new operation), not for an
    item that exists: an item outside the scope is hidden (``check_item``)."""
    return NotPermitted(f"{what} is outside your token's scope ({who.scope_text()})")


async def held_by_clear(door: FrontDoor, who: Identity, operation_id: UUID) -> dict[str, Any]:
    """The operation as clear holds it, if the caller may see it (clear decides too)."""
    query = GetOperation(operation_id=operation_id, actor=who.actor)
    result = await door.send("clear", "get_operation", query)
    if result.status >= 400:
        raise HTTPException(status_code=result.status, detail=result.error)
    return result.result


async def operation_for(
    door: FrontDoor, who: Identity, operation_id: UUID, action: str = "read_operation"
) -> dict[str, Any]:
    """The operation, if the caller may do ``action`` on it: a planned operation outside their
    planning cell or one outside their token's scope is "not found", as an unknown one is."""
    # The read model may trail clear by a few milliseconds: then ask clear.
    projected = door.read_model.operations.get(operation_id)
    operation = projected.as_json() if projected else await held_by_clear(door, who, operation_id)
    check(
        who,
        action,
        operation_relation(who),
        visible=operation_visible(who, operation["status"], operation["place"], operation_id),
        hidden_as=f"no operation {operation_id}",
    )
    return operation


async def check_operation(door: FrontDoor, who: Identity, operation_id: UUID, action: str) -> None:
    """A command about an operation. For its unscoped planning cell (the arrest path) nothing
    need be looked up: every operation is visible to it and the table admits it; anyone else
    is checked against the operation itself, so a hidden one is answered as unknown."""
    relation = operation_relation(who)
    if not who.scoped and sees_planned_operation(who) and permitted(who, action, relation):
        return
    await operation_for(door, who, operation_id, action)


def item_for(
    who: Identity,
    action: str,
    item: R | None,
    hidden_as: str,
    relation: Relation = Relation.NONE,
) -> R:
    """An item from the views (a case, task, milestone, plan, programme): unknown or outside
    the token's scope, "not found" (``hidden_as``); otherwise the table's answer for
    ``action`` given the caller's agency's ``relation`` to it."""
    if item is None or not who.covers_item(item):
        raise HTTPException(status_code=404, detail=hidden_as)
    check(who, action, relation)
    return item


def check_item(who: Identity, item: Row | None, what: str) -> None:
    """An item outside the token's scope is hidden: "not found", as an unknown one is."""
    if item is not None and not who.covers_item(item):
        raise HTTPException(status_code=404, detail=f"no {what}")


def check_agency(door: FrontDoor, field: str, code: str) -> None:
    """422 naming ``field`` when ``code`` is not in the register as the front door knows it
    (the seeded agencies and those hold has recorded)."""
    register = door.read_model.agencies
    if code not in register:
        reason = not_registered(code, register)
        error = {"field": field, "reason": reason, "loc": ["body", field]}
        raise Refused(422, f"{field}: {reason}", errors=[error])


def scoped(who: Identity, items: Iterable[R]) -> list[R]:
    """The items within the token's scope (all of them for a token not limited)."""
    if not who.scoped:
        return list(items)
    return [i for i in items if who.covers_item(i)]


def real_text(value: str, field: str, what: str, at_least: int = 5) -> str:
    """A reason or other required text: refused (422, naming the field) unless it says
    something once spaces are trimmed."""
    text = value.strip()
    if len(text) < at_least:
        reason = f"{what}: at least {at_least} characters that are not spaces"
        raise Refused(422, f"{field}: {reason}", errors=[{"field": field, "reason": reason}])
    return text
