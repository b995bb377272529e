"""Auditor pages: the timeline with filters, the state at a moment, verify status per service,
and who read a household's personal details. Each is the API's audit route, asked as the
signed-in auditor (whose every read the API logs)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.pages.calls import Answer
from services.api.pages.render import from_nz_input
from services.api.pages.site import SignedIn, SiteDep

router = APIRouter()


@router.get("/auditor")
async def timeline(
    request: Request,
    site: SiteDep,
    session: SignedIn,
    operation: str = "",
    place: str = "",
    event_type: str = "",
    agency: str = "",
) -> Response:
    entries: list[dict[str, object]] = []
    asked = bool(operation or place)
    if asked:
        found = await site.api.get_all(
            session.identity,
            "/audit/timeline",
            operation_id=operation,
            place=place,
        )
        if not found.ok:
            return site.refused(request, found)
        entries = [
            e
            for e in found.body
            if (not event_type or e["event_type"] == event_type)
            and (not agency or e["actor_agency"] == agency)
        ]
    filters = {"operation": operation, "place": place, "event_type": event_type, "agency": agency}
    return site.page(request, "auditor.html", entries=entries, filters=filters, asked=asked)


@router.get("/auditor/as-of")
async def as_of(
    request: Request,
    site: SiteDep,
    session: SignedIn,
    at: str = "",
    operation: str = "",
    place: str = "",
) -> Response:
    state = None
    if at and (operation or place):
        found = await site.api.get(
            session.identity,
            "/audit/as-of",
            at=from_nz_input(at),
            operation_id=operation,
            place=place,
        )
        if not found.ok:
            return site.refused(request, found)
        state = found.body
    filters = {"at": at, "operation": operation, "place": place}
    return site.page(request, "as_of.html", state=state, filters=filters)


@router.get("/auditor/verify")
async def verify(request: Request, site: SiteDep, session: SignedIn) -> Response:
    found = await site.api.get(session.identity, "/audit/verify")
    if not found.ok:
        return site.refused(request, found)
    return site.page(request, "verify.html", report=found.body)


@router.get("/auditor/reads")
async def reads(request: Request, site: SiteDep, session: SignedIn, case: str = "") -> Response:
    rows = None
    if case:
        try:
            case_id = UUID(case)
        except ValueError:
            return site.page(
                request, "refused.html", status=422, status_code=422, detail="case: a case id"
            )
        found = await site.api.get(session.identity, f"/cases/{case_id}/reads", limit=10_000)
        if not found.ok:
            return site.refused(request, found)
        rows = found.body
    return site.page(request, "reads.html", rows=rows, case=case)


@router.get("/auditor/export")
async def export(
    request: Request,
    site: SiteDep,
    session: SignedIn,
    operation: str = "",
    place: str = "",
    format: str = "csv",
) -> Response:
    """The timeline as the API exports it (CSV or JSONL, with its SHA-256 in Repr-Digest)."""
    got = await site.api.download(
        session.identity, "/audit/export", operation_id=operation, place=place, format=format
    )
    if got.status_code >= 400:
        return site.refused(request, Answer(got.status_code, got.json()))
    kept = ("content-type", "content-disposition", "repr-digest", "x-entries")
    return Response(got.content, headers={k: v for k, v in got.headers.items() if k in kept})
