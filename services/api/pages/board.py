"""The leadership board: open, overdue, escalated and unplaced tasks by agency and kind, the
unplaced queue with "place with agency", the places' resilience plans with their milestones,
and the programmes. Everything through the API's routes as the signed-in person."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.pages.build import CHECK_IN_STATUSES
from services.api.pages.charts import chart, place_outcomes
from services.api.pages.inbox import badge
from services.api.pages.render import from_nz_input
from services.api.pages.site import PostedForm, SignedIn, SiteDep, back_to

router = APIRouter()

UNPLACED_SHOWN = 50


@router.get("/board")
async def board(
    request: Request, site: SiteDep, session: SignedIn, place: str = "", operation: str = ""
) -> Response:
    who = session.identity
    try:
        operation_id = UUID(operation) if operation else None
    except ValueError:
        operation_id = None
    # The numbers counted by the API (``GET /tasks/board``) over the tasks this person may
    # see, not from every task's JSON.
    found = await site.api.get(
        who, "/tasks/board", place=place, operation_id=str(operation_id or "")
    )
    if not found.ok:
        return site.refused(request, found)
    now = site.clock.now()
    # The soonest due first, as many as a chair can place in one sitting: each carries a form
    # with every agency in its list, and hundreds of them made the page slow to make and use.
    unplaced_total = len(found.body["unplaced"])
    unplaced = found.body["unplaced"][:UNPLACED_SHOWN]
    for task in unplaced:
        task["badge"] = badge(task, now)
    plans = await site.api.get(who, "/plans", limit=500)
    programmes = await site.api.get(who, "/programmes", limit=500)
    agencies = await site.api.get(who, "/agencies", limit=500)
    return site.page(
        request,
        "board.html",
        rows=found.body["by_agency_and_kind"],
        timings=found.body["by_agency"],
        unplaced=unplaced,
        unplaced_total=unplaced_total,
        plans=plans.body if plans.ok else [],
        programmes=programmes.body if programmes.ok else [],
        agencies=agencies.body if agencies.ok else [],
        filters={"place": place, "operation": operation},
    )


@router.get("/board/plans/{place}")
async def plan(request: Request, site: SiteDep, session: SignedIn, place: str) -> Response:
    who = session.identity
    found = await site.api.get(who, f"/plans/{place}")
    if not found.ok:
        return site.refused(request, found)
    agencies = await site.api.get(who, "/agencies", limit=500)
    outcomes = await place_outcomes(site.api, who, place)
    return site.page(
        request,
        "plan.html",
        plan=found.body,
        place=place,
        agencies=agencies.body if agencies.ok else [],
        outcomes=outcomes,
        check_in_statuses=CHECK_IN_STATUSES,
        charts=[chart(o, i) for i, o in enumerate(outcomes)],
    )


@router.post("/board/plans/{place}/milestones")
async def add_milestone(request: Request, site: SiteDep, form: PostedForm, place: str) -> Response:
    request.state.session = form.session
    body = {
        "label": form.text("label"),
        "owner_agency": form.text("owner_agency"),
        "due_at": from_nz_input(form.text("due_at")),
    }
    done = await site.api.post(form.session.identity, f"/plans/{place}/milestones", body)
    if not done.ok:
        return site.refused(request, done)
    return back_to(f"/board/plans/{place}")
