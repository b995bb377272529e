"""Planner pages: plan an operation, stage support before launch, launch it, record arrests (with
the children they leave behind) and seizures, conclude it, and see its Hold summary. Each
form is the API's command, sent as the signed-in planner."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.pages.render import from_nz_input
from services.api.pages.site import Posted, PostedForm, SignedIn, SiteDep, back_to

router = APIRouter()

# How many children an arrest form has rows for (more: record the arrest with the API).
CHILD_ROWS = 4


@router.get("/planner")
async def operations(request: Request, site: SiteDep, session: SignedIn) -> Response:
    found = await site.api.get(session.identity, "/operations", limit=500)
    if not found.ok:
        return site.refused(request, found)
    return site.page(request, "planner.html", operations=found.body)


@router.post("/planner/operations")
async def plan(request: Request, site: SiteDep, form: PostedForm) -> Response:
    request.state.session = form.session
    body = {name: form.text(name) for name in ("name", "district", "place", "target_group")} | {
        "planned_start": from_nz_input(form.text("planned_start"))
    }
    done = await site.api.post(form.session.identity, "/operations", body)
    if not done.ok:
        return site.refused(request, done)
    return back_to(f"/planner/operations/{done.body['operation_id']}")


@router.get("/planner/operations/{operation_id}")
async def operation(
    request: Request, site: SiteDep, session: SignedIn, operation_id: UUID
) -> Response:
    who = session.identity
    found = await site.api.get(who, f"/operations/{operation_id}")
    if not found.ok:
        return site.refused(request, found)
    summary = await site.api.get(who, f"/operations/{operation_id}/hold")
    return site.page(
        request,
        "operation.html",
        operation=found.body,
        summary=summary.body if summary.ok else None,
        child_rows=range(CHILD_ROWS),
    )


@router.post("/planner/operations/{operation_id}/{step}")
async def step(
    request: Request, site: SiteDep, form: PostedForm, operation_id: UUID, step: str
) -> Response:
    request.state.session = form.session
    bodies = {
        "launch": None,
        "conclude": None,
        "arrests": arrest,
        "seizures": seizure,
        "staged-support": staged,
    }
    if step not in bodies:
        return site.page(
            request, "refused.html", status=404, status_code=404, detail=f"no step {step!r}"
        )
    make = bodies[step]
    body = make(form) if make else None
    done = await site.api.post(form.session.identity, f"/operations/{operation_id}/{step}", body)
    if not done.ok:
        return site.refused(request, done)
    return back_to(f"/planner/operations/{operation_id}")


def children(form: Posted) -> list[dict[str, Any]]:
    rows = []
    for i in range(CHILD_ROWS):
        ref, age = form.text(f"child_ref_{i}"), form.text(f"child_age_{i}")
        if ref:
            rows.append({"child_ref": ref, "age": int(age) if age.isdigit() else age})
    return rows


def arrest(form: Posted) -> dict[str, Any]:
    charges = [c.strip() for c in form.text("charges").splitlines() if c.strip()]
    return {
        "person_ref": form.text("person_ref"),
        "household_ref": form.text("household_ref"),
        "charges": charges,
        "children": children(form),
        "only_carer_present": form.text("only_carer_present") == "true",
    }


def seizure(form: Posted) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": form.text("kind"),
        "description": form.text("description"),
        "quantity": form.text("quantity"),
        "unit": form.text("unit"),
    }
    if form.text("household_ref"):
        body["household_ref"] = form.text("household_ref")
        body["children"] = children(form)
    return body


def staged(form: Posted) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household_ref": form.text("household_ref"),
        "expected_children": form.text("expected_children") or "0",
        "only_carer_expected": form.text("only_carer_expected") == "true",
    }
    if form.text("note"):
        body["note"] = form.text("note")
    return body
