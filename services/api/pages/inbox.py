"""The agency inbox, a task's page with each step as a form, and the household page.

Every list, step and read goes through the JSON API's own routes as the signed-in person
(``calls.Api``); which forms a task page offers is asked of the same authorization table,
only so as not to show a button that would be refused. The API decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from contracts.commands import CLOSE_REASONS, DECLINE_REASONS
from services.api.identity import Identity
from services.api.pages.site import PostedForm, SignedIn, SiteDep, back_to
from services.runtime.authorization import (
    TASK_ACTIONS,
    WHY,
    household_relation,
    permitted,
    task_relation,
)

router = APIRouter()

FINISHED = ("completed", "closed")
# The steps in the order a task page offers them.
ORDER = ("accept", "decline", "assign", "start", "consent", "note", "complete", "close", "offer")
STATUSES = ("offered", "accepted", "assigned", "in_progress", "completed", "closed")
# The most an inbox shows at once (soonest due first); the filters narrow it.
SHOWN = 200
# The most tasks the pages ask the API for in one list (its own limit).
MAX_LIST = 10_000
# How often the events stream looks for a change in the inbox: well inside the 2 s a newly
# offered task must take to appear.
EVENTS_POLL_SECONDS = 0.5


def badge(task: dict[str, Any], now: datetime) -> str:
    if task["status"] in FINISHED:
        return ""
    due = datetime.fromisoformat(task["due_at"])
    if due <= now:
        return "overdue"
    return "due-soon" if (due - now).total_seconds() <= 4 * 3600 else "due"


async def inbox_tasks(
    site: SiteDep, who: Identity, status: str, place: str, operation: str, mine: bool
) -> tuple[list[dict[str, Any]], int]:
    """My agency's tasks (offered to it or held by it), soonest due first: the first
    ``SHOWN`` of them, and how many there are."""
    answer = await site.api.tasks(
        who,
        limit=SHOWN,
        agency=who.agency,
        status=status if status in STATUSES else None,
        place=place or None,
        operation_id=UUID(operation) if _uuid(operation) else None,
        worker_ref=who.subject if mine else None,
        sort="due",
    )
    tasks = answer.body if answer.ok and isinstance(answer.body, list) else []
    now = site.clock.now()
    for task in tasks:
        task["badge"] = badge(task, now)
    return tasks, answer.total or 0


@router.get("/inbox")
async def inbox(
    request: Request,
    site: SiteDep,
    session: SignedIn,
    status: str = "",
    place: str = "",
    operation: str = "",
    mine: bool = False,
) -> Response:
    tasks, total = await inbox_tasks(site, session.identity, status, place, operation, mine)
    filters = {"status": status, "place": place, "operation": operation, "mine": mine}
    return site.page(
        request,
        "inbox.html",
        tasks=tasks,
        total=total,
        filters=filters,
        statuses=STATUSES,
        query=request.url.query,
    )


@router.get("/inbox/list")
async def inbox_list(
    request: Request,
    site: SiteDep,
    session: SignedIn,
    status: str = "",
    place: str = "",
    operation: str = "",
    mine: bool = False,
) -> Response:
    """The inbox's table alone: what htmx swaps in when the events stream says it changed."""
    tasks, total = await inbox_tasks(site, session.identity, status, place, operation, mine)
    return site.page(request, "inbox_list.html", tasks=tasks, total=total, query=request.url.query)


@router.get("/inbox/events")
async def inbox_events(request: Request, site: SiteDep, session: SignedIn) -> Response:
    """Server-sent events: ``tasks`` each time the set of my agency's tasks (or a status)
    changes. It only says "look again"; what is shown comes from ``/inbox/list``."""
    who = session.identity

    async def changes() -> AsyncIterator[str]:
        seen: tuple[int | None, frozenset[str]] | None = None
        yield "retry: 1000\n\n"
        while not await request.is_disconnected():
            # How many tasks the agency has, and which are offered to it: a new offer, an
            # accept, a decline or a task moved away each change one of the two.
            everything = await site.api.tasks(who, agency=who.agency)
            offered = await site.api.tasks(who, agency=who.agency, status="offered")
            if everything.ok and offered.ok and isinstance(offered.body, list):
                now = (everything.total, frozenset(t["task_id"] for t in offered.body))
                if seen is not None and now != seen:
                    yield "event: tasks\ndata: changed\n\n"
                seen = now
            if site.sessions.of(request, site.clock.now()) is None:
                return  # signed out (or expired): the stream ends with the session
            await asyncio.sleep(EVENTS_POLL_SECONDS)

    return StreamingResponse(
        changes(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )


@router.get("/inbox/tasks/{task_id}")
async def task_page(
    request: Request, site: SiteDep, session: SignedIn, task_id: UUID, error: str = ""
) -> Response:
    who = session.identity
    answer = await site.api.get(who, f"/tasks/{task_id}")
    if not answer.ok:
        return site.refused(request, answer)
    task = answer.body
    task["badge"] = badge(task, site.clock.now())
    relation = task_relation(who, task["agency"], task["status"])
    # Only to leave out a button the API would refuse: the API checks again.
    may = {a for a, action in TASK_ACTIONS.items() if permitted(who, action, relation)}
    if task["status"] in FINISHED:
        may = {"note"} & may
    elif task["status"] == "offered":
        may &= {"accept", "decline", "offer"}
    else:
        may -= {"accept"}
    agencies = await site.api.get(who, "/agencies", limit=500)
    return site.page(
        request,
        "task.html",
        task=task,
        may=may,
        order=ORDER,
        decline_reasons=DECLINE_REASONS,
        close_reasons=CLOSE_REASONS,
        agencies=agencies.body if agencies.ok else [],
        error=error,
    )


def step_body(action: str, form: PostedForm) -> dict[str, Any]:
    """The JSON body of a step from its form: only the fields the step takes, blanks left out
    so the API names what is missing."""
    fields = {
        "decline": ("reason_code", "reason"),
        "close": ("reason_code", "reason"),
        "assign": ("worker_ref",),
        "consent": ("consent", "override_role", "reason"),
        "complete": ("outcome", "referral_agency"),
        "note": ("text",),
        "offer": ("to_agency",),
    }.get(action, ())
    return {name: form.text(name) for name in fields if form.text(name)}


@router.post("/inbox/tasks/{task_id}/{action}")
async def task_step(
    request: Request, site: SiteDep, form: PostedForm, task_id: UUID, action: str
) -> Response:
    request.state.session = form.session
    if action not in TASK_ACTIONS:
        return site.page(
            request, "refused.html", status=404, status_code=404, detail=f"no step {action!r}"
        )
    answer = await site.api.post(
        form.session.identity, f"/tasks/{task_id}/{action}", step_body(action, form) or None
    )
    if not answer.ok:
        return site.refused(request, answer)
    return back_to(f"/inbox/tasks/{task_id}#history")


@router.get("/inbox/households/{case_id}")
async def household(request: Request, site: SiteDep, session: SignedIn, case_id: UUID) -> Response:
    """A household: its tasks (agency and status only), and its personal details only after
    the person gives a reason (``POST``: the API records the read before it answers)."""
    who = session.identity
    refusal = household_refusal(site, who, case_id)
    if refusal is not None:
        return site.page(
            request, "refused.html", status=refusal[0], status_code=refusal[0], detail=refusal[1]
        )
    tasks = await site.api.get(who, "/tasks", case_id=str(case_id), limit=MAX_LIST)
    return site.page(
        request,
        "household.html",
        case_id=case_id,
        tasks=tasks.body if tasks.ok else [],
        personal=None,
    )


@router.post("/inbox/households/{case_id}")
async def household_read(
    request: Request, site: SiteDep, form: PostedForm, case_id: UUID
) -> Response:
    request.state.session = form.session
    who = form.session.identity
    answer = await site.api.get(
        who, f"/cases/{case_id}/personal", reason=form.text("reason") or "-"
    )
    if not answer.ok:
        return site.refused(request, answer)
    tasks = await site.api.get(who, "/tasks", case_id=str(case_id), limit=MAX_LIST)
    return site.page(
        request,
        "household.html",
        case_id=case_id,
        tasks=tasks.body if tasks.ok else [],
        personal=answer.body,
    )


def household_refusal(site: SiteDep, who: Identity, case_id: UUID) -> tuple[int, str] | None:
    """Whether the API would let this person read the household at all: the same question its
    personal-details route asks of the table (services/api/routers/cases.py), without a read."""
    model = site.door.read_model
    case = model.cases.get(case_id)
    if case is None or not who.covers_item(case):
        return 404, f"no case {case_id}"
    relation = household_relation(
        who, model.engagements(case_id), site.clock.now(), site.door.personal_window
    )
    if not permitted(who, "read_personal_details", relation):
        return 403, WHY.get("read_personal_details", "you may not read this household")
    return None


def _uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
