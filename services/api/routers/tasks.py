"""The task board and each step in a task's life."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from contracts.commands import (
    CLOSE_REASONS,
    DECLINE_REASONS,
    ChangeTask,
    TaskAction,
    TaskActionDetails,
)
from services.api.access import Caller
from services.api.deps import Door, item_for, real_text, reply
from services.api.paging import Page
from services.api.problems import Refused, responses
from services.api.routers.notifications import notifications_of_task
from services.runtime.authorization import TASK_ACTIONS, Relation, task_relation
from services.runtime.sealing import is_sealed
from services.views.board import board_numbers
from services.views.rows import TaskRow, TaskStep, shown

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
    worker_ref: Annotated[
        str | None, Query(description="The worker the task is assigned to (e.g. mine)")
    ] = None,
    sort: Annotated[
        Literal["opened", "due"], Query(description="opened (the default) or soonest due first")
    ] = "opened",
) -> list[dict[str, Any]]:
    """The task board: filter by operation, the agency holding the task, status, case,
    place, overdue (unfinished and past its due time) and the worker assigned; in the order
    the tasks were opened, or soonest due first."""
    now = datetime.now(UTC) if overdue else None
    model = door.read_model
    filters = (operation_id, agency, status, case_id, place, now)
    # The store cuts the page, by index, within the token's limits: nothing else is read.
    within = (who.places, who.operations) if who.scoped else None
    total = model.count_tasks(*filters, worker_ref=worker_ref, within=within)
    rows = model.list_tasks(
        *filters, page.limit, page.offset, worker_ref=worker_ref, sort=sort, within=within
    )
    return page.window(shown(rows), total)


@router.get("/tasks/board")
async def task_board(
    door: Door,
    who: Caller,
    operation_id: UUID | None = None,
    place: str | None = None,
) -> dict[str, Any]:
    """The leadership board's numbers over the tasks the caller may see (as ``GET /tasks``
    lists them, by operation and place): open, overdue and escalated per agency and kind;
    completed and the median hours to completion and from offer to accept per agency; the
    unplaced queue, soonest due first."""
    within = (who.places, who.operations) if who.scoped else None
    return board_numbers(door.read_model, datetime.now(UTC), operation_id, place, within)


@router.get("/tasks/{task_id}", responses=responses(404))
async def get_task(door: Door, task_id: UUID, who: Caller) -> dict[str, Any]:
    """A task and its whole history: each step with who, when, why and its causation. The
    agency it is offered to or held by also sees what it needs to decide: how many children
    the household has and their ages in bands (never names or exact ages)."""
    task = item_for(who, "read_task", door.read_model.tasks.get(task_id), f"no task {task_id}")
    history = [
        withheld(step, task.case_id) for step in door.read_model.task_history.get(task_id, [])
    ]
    answer = {**task.as_json(), "history": history}
    # What was sent about it, and how it went (notify's record), when there is any.
    if sent := await notifications_of_task(door, who, task_id):
        answer["notifications"] = sent
    relation = task_relation(who, task.agency, task.status)
    if relation in (Relation.OFFERED, Relation.HOLDER) or who.role == "auditor":
        answer["household"] = await children_in_bands(door, task)
    return answer


async def children_in_bands(door: Door, task: TaskRow) -> dict[str, Any]:
    """The household's children as an agency deciding on the task needs them: a count, and
    their ages in bands, opened in memory from the sealed ages and never shown exactly."""
    model = door.read_model
    case = model.cases.get(UUID(task.case_id))
    if case is None:
        return {"children": 0, "age_bands": {}}
    household = (case.operation_id, case.household_ref)
    sealed = [
        item.ages
        for records in (
            model.household_arrests,
            model.household_seizures,
            model.household_witnesses,
        )
        for item in records.get(household, [])
        if item.ages
    ]
    ages: dict[str, int | None] = {}
    opener = door.keys.opener()
    for blob in sealed:
        opened = await opener.details(blob)
        for child in opened.get("children", []) if isinstance(opened, dict) else []:
            ages[child["child_ref"]] = child.get("age")
    bands = Counter(age_band(age) for age in ages.values())
    unknown = max(case.children - len(ages), 0)
    if unknown:
        bands["unknown"] += unknown
    return {"children": case.children, "age_bands": dict(sorted(bands.items()))}


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    if age < 5:
        return "0-4"
    if age < 12:
        return "5-11"
    return "12-17" if age < 18 else "18+"


def withheld(step: TaskStep, case_id: str) -> dict[str, Any]:
    """Free text on a step (a note, a reason, an outcome) may be personal: here it is only
    said to exist, and where to read it."""
    detail = step.detail
    if not any(is_sealed(v) for v in detail.values()):
        return step.as_json()
    where = f"/cases/{case_id}/personal"
    hidden = {
        k: {"withheld": "personal details", "read_at": where} if is_sealed(v) else v
        for k, v in detail.items()
    }
    return {**step.as_json(), "detail": hidden}


# The free text each step may carry, and what it is called in the refusal when it is blank.
TEXTS = {"text": "note", "reason": "reason", "outcome": "outcome"}


@router.post("/tasks/{task_id}/{action}", responses=responses(400, 404, 409, 503))
async def change_task(
    door: Door,
    task_id: UUID,
    action: TaskAction,
    who: Caller,
    body: TaskActionDetails | None = None,
) -> JSONResponse:
    """A step in the task's life: accept or decline by the agency it is offered to (a decline
    with a ``reason_code``), place or move by the leadership group (``offer``), everything else
    by the agency holding it. Free text (a note, a reason, an outcome) is sealed with the
    household's key here, before it goes anywhere."""
    details = body.model_dump() if body else {}
    check_texts(action, details)
    task = door.read_model.tasks.get(task_id)
    if task is None:
        if any(details.get(k) for k in TEXTS):
            raise HTTPException(status_code=404, detail=f"no task {task_id}")
        # Not in this view yet (it trails Hold by milliseconds): Hold decides alone, by the
        # same table.
    else:
        item_for(
            who,
            TASK_ACTIONS[action],
            task,
            f"no task {task_id}",
            task_relation(who, task.agency, task.status),
        )
        case = door.read_model.cases.get(UUID(task.case_id))
        if case is None:
            raise HTTPException(status_code=404, detail=f"no task {task_id}")
        for name in TEXTS:
            if details.get(name):
                details[name] = await door.keys.seal(case.household_ref, details[name])
    command = ChangeTask(task_id=task_id, action=action, **details, actor=who.actor)
    answer = await door.send("hold", "change_task", command)
    if answer.status < 400 and "event_id" in answer.result:
        await door.settled(UUID(answer.result["event_id"]))
    return reply(answer)


def check_texts(action: str, details: dict[str, Any]) -> None:
    """Free text only where the step takes it, never blank where it is given or needed."""
    allowed = {
        "note": {"text"},
        "decline": {"reason"},
        "close": {"reason"},
        "consent": {"reason"},
        "complete": {"outcome"},
    }.get(action, set())
    for name in TEXTS:
        value = details.get(name)
        if value is None:
            continue
        if name not in allowed:
            refuse(name, f"the {action} step takes no {TEXTS[name]}")
        details[name] = real_text(value, name, TEXTS[name], at_least=1)
    codes = {"decline": DECLINE_REASONS, "close": CLOSE_REASONS}.get(action)
    code = details.get("reason_code")
    if codes is None and code is not None:
        refuse("reason_code", f"the {action} step takes no reason_code")
    if codes is not None and code not in codes:
        refuse("reason_code", f"one of {', '.join(codes)}")
    if code == "other" and not details.get("reason"):
        refuse("reason", "a reason_code of other needs the reason in words")


def refuse(field: str, reason: str) -> None:
    error = {"field": field, "reason": reason, "loc": ["body", field]}
    raise Refused(422, f"{field}: {reason}", errors=[error])
