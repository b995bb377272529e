"""The task board and each step in a task's life."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from contracts.commands import (
    ChangeTask,
    TaskAction,
    TaskActionDetails,
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
from services.api.paging import Page
from services.api.problems import Refused
from services.runtime.sealing import is_sealed

router = APIRouter()

TASK_STATUSES = "^(offered|accepted|assigned|in_progress|completed|closed|unplaced)$"


@router.get("/tasks")
async def list_tasks(
    door: Door,
    page: Page,
    who: Caller,
    operation_id: UUID | None = None,
    agency: str | None = None,
    status: Annotated[str | None, Query(pattern=TASK_STATUSES)] = None,
    case_id: UUID | None = None,
    place: str | None = None,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    """The task board: filter by operation, the agency holding the task, status, case,
    place, and overdue (unfinished and past its due time)."""
    now = datetime.now(UTC) if overdue else None
    tasks = door.read_model.list_tasks(operation_id, agency, status, case_id, place, now)
    return page.apply(scoped(who, tasks))


@router.get("/tasks/{task_id}")
async def get_task(door: Door, task_id: UUID, who: Caller) -> dict[str, Any]:
    """A task and its whole history: each step with who, when, why and its causation."""
    task = door.read_model.tasks.get(task_id)
    if task is None:
        raise HTTPException(status_code=404, detail=f"no task {task_id}")
    check_item(who, task, f"task {task_id}")
    history = [
        withheld(step, task["case_id"]) for step in door.read_model.task_history.get(task_id, [])
    ]
    return {**task, "history": history}


def withheld(step: dict[str, Any], case_id: str) -> dict[str, Any]:
    """A note's text is personal: here it is only said to exist, and where to read it."""
    detail = step["detail"]
    if not any(is_sealed(v) for v in detail.values()):
        return step
    where = f"/cases/{case_id}/personal"
    shown = {
        k: {"withheld": "personal details", "read_at": where} if is_sealed(v) else v
        for k, v in detail.items()
    }
    return {**step, "detail": shown}


@router.post("/tasks/{task_id}/{action}")
async def change_task(
    door: Door,
    task_id: UUID,
    action: TaskAction,
    who: Caller,
    body: TaskActionDetails | None = None,
) -> JSONResponse:
    """A step in the task's life, by someone at the agency their token names."""
    task = door.read_model.tasks.get(task_id)
    check_item(who, task, f"task {task_id}")
    details = body.model_dump() if body else {}
    if details.get("text") is not None:
        # A note may name people: it is sealed with the household's key, like the rest.
        if action != "note":
            reason = "only a note takes text"
            field = {"field": "text", "reason": reason, "loc": ["body", "text"]}
            raise Refused(422, f"text: {reason}", errors=[field])
        household = door.read_model.cases.get(UUID(task["case_id"])) if task else None
        if household is None:
            raise HTTPException(status_code=404, detail=f"no task {task_id}")
        details["text"] = await door.keys.seal(household["household_ref"], details["text"])
    command = ChangeTask(task_id=task_id, action=action, **details, actor=who.actor)
    return reply(await door.send("hold", "change_task", command))
