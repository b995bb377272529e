"""Pages for the rest of Build: a leadership member's own sign-off of a place's move from Hold
to Build and the chair's gate decision (on the plan page), a milestone's check-in, and a
programme's page with the panel's votes and decision and the provider's spend and results.

Each form posts here and is sent on as the signed-in person to the API's own route
(``/plans/{place}/gate/sign-offs``, ``/plans/{place}/gate``, ``/milestones/{id}/check-ins``,
``/programmes/{id}/…``): the API's door and the one authorization table decide, and a
refusal is shown as the API gave it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.pages.site import Posted, PostedForm, SignedIn, SiteDep, back_to

router = APIRouter()

CHECK_IN_STATUSES = ("on_track", "at_risk", "off_track", "met")
DECISIONS = ("approved", "declined")


def plan_url(place: str) -> str:
    return f"/board/plans/{quote(place, safe='')}"


async def sent(
    request: Request, site: SiteDep, form: Posted, path: str, body: Any, then: str
) -> Response:
    """Post ``body`` to the API's ``path`` as the person; back to ``then``, or the refusal."""
    request.state.session = form.session
    done = await site.api.post(form.session.identity, path, body)
    if not done.ok:
        return site.refused(request, done)
    return back_to(then)


@router.post("/board/plans/{place}/gate/sign-off")
async def sign_off(request: Request, site: SiteDep, form: PostedForm, place: str) -> Response:
    path = f"/plans/{quote(place, safe='')}/gate/sign-offs"
    return await sent(request, site, form, path, None, plan_url(place))


@router.post("/board/plans/{place}/gate")
async def decide_gate(request: Request, site: SiteDep, form: PostedForm, place: str) -> Response:
    # One piece of evidence a line (a link, a document's name, a minute's reference).
    evidence = [line.strip() for line in form.text("evidence").splitlines() if line.strip()]
    path = f"/plans/{quote(place, safe='')}/gate"
    return await sent(request, site, form, path, {"evidence": evidence}, plan_url(place))


@router.post("/board/milestones/{milestone_id}/check-in")
async def check_in(
    request: Request, site: SiteDep, form: PostedForm, milestone_id: UUID
) -> Response:
    body = {
        "status": form.text("status"),
        "note": form.text("note"),
        "evidence_link": form.text("evidence_link") or None,
    }
    path = f"/milestones/{milestone_id}/check-ins"
    return await sent(request, site, form, path, body, plan_url(form.text("place")))


@router.get("/board/programmes/{programme_id}")
async def programme(
    request: Request, site: SiteDep, session: SignedIn, programme_id: UUID
) -> Response:
    found = await site.api.get_all(session.identity, "/programmes")
    if not found.ok:
        return site.refused(request, found)
    item = next((p for p in found.body if p["programme_id"] == str(programme_id)), None)
    if item is None:
        return site.page(
            request,
            "refused.html",
            status=404,
            status_code=404,
            detail=f"no programme {programme_id}",
        )
    return site.page(request, "programme.html", programme=item, decisions=DECISIONS)


async def programme_form(
    request: Request, site: SiteDep, form: Posted, programme_id: UUID, action: str, body: Any
) -> Response:
    path = f"/programmes/{programme_id}/{action}"
    return await sent(request, site, form, path, body, f"/board/programmes/{programme_id}")


@router.post("/board/programmes/{programme_id}/vote")
async def vote(request: Request, site: SiteDep, form: PostedForm, programme_id: UUID) -> Response:
    """A panel member's own vote: the voter is the signed-in person, never a field."""
    body = {"decision": form.text("decision"), "amount": form.text("amount")}
    return await programme_form(request, site, form, programme_id, "panel-votes", body)


@router.post("/board/programmes/{programme_id}/decision")
async def decision(
    request: Request, site: SiteDep, form: PostedForm, programme_id: UUID
) -> Response:
    body = {"decision": form.text("decision"), "amount": form.text("amount")}
    return await programme_form(request, site, form, programme_id, "panel-decisions", body)


@router.post("/board/programmes/{programme_id}/spend")
async def spend(request: Request, site: SiteDep, form: PostedForm, programme_id: UUID) -> Response:
    body = {"amount": form.text("amount"), "period": form.text("period")}
    return await programme_form(request, site, form, programme_id, "spend", body)


@router.post("/board/programmes/{programme_id}/results")
async def results(
    request: Request, site: SiteDep, form: PostedForm, programme_id: UUID
) -> Response:
    body = {
        "period": form.text("period"),
        # A whole number as JSON wants it; anything else goes as typed, for the API to refuse.
        "people_engaged": int(n) if (n := form.text("people_engaged")).isdigit() else n,
        # Cost and outcome value go together into the social return; either may be left out.
        "cost": form.text("cost") or None,
        "outcome_value": form.text("outcome_value") or None,
        "note": form.text("note"),
    }
    return await programme_form(request, site, form, programme_id, "results", body)
