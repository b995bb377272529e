"""The record for auditors: dead letters, the timeline, state at a moment, figures, verify,
rebuild and export."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from contracts.envelope import TimeAsText
from services.api.access import Caller
from services.api.deps import Door, operation_for, out_of_scope
from services.api.door import FrontDoor, ServiceUnavailable
from services.api.identity import Identity
from services.api.notes import with_notes
from services.api.paging import Page
from services.api.problems import Refused, responses
from services.audit.figures import figures
from services.audit.timeline import Entry, replay, stream_histories, to_csv, to_jsonl
from services.audit.verification import summary as verification_summary
from services.runtime.authorization import NotPermitted
from services.runtime.topology import NOTIFY, SERVICES
from services.views.compare import comparison, snapshot
from services.views.rows import shown

router = APIRouter()


@router.get("/dead-letters")
async def list_dead_letters(door: Door, page: Page, who: Caller) -> list[dict[str, Any]]:
    whole_system(who, "the dead letters")
    return page.apply(shown(door.read_model.dead_letters))


def whole_system(who: Identity, what: str) -> None:
    """What covers every place and operation at once is for a token limited to none."""
    if who.scoped:
        raise NotPermitted(
            f"{what} cover every place and operation: your token is limited to "
            f"{who.scope_text()}; ask with one that is not"
        )


async def audit_scope(
    door: FrontDoor, who: Identity, action: str, operation_id: UUID | None, place: str | None
) -> tuple[UUID | None, str | None]:
    """The operation and place an audit question is about, within the caller's sight: an
    operation hidden from them is "not found"; a place outside their token's scope is refused;
    a token limited to one place or one operation asks about it by default, and one limited
    to several must say which."""
    if operation_id is not None:
        await operation_for(door, who, operation_id, action)
    if place is not None and not who.covers_place(place):
        raise out_of_scope(who, f"place {place}")
    if not who.scoped or operation_id is not None or (place is not None and not who.operations):
        return operation_id, place
    if len(who.places) == 1 and not who.operations:
        return None, who.places[0]
    if len(who.operations) == 1 and place is None:
        only = UUID(who.operations[0])
        await operation_for(door, who, only, action)
        return only, None
    raise Refused(
        422,
        f"your token is limited to {who.scope_text()}: name one with place= or operation_id=",
        errors=[{"field": "place", "reason": "required for a token limited to several"}],
    )


async def indexed_timeline(
    door: FrontDoor, operation_id: UUID | None, place: str | None
) -> list[Entry]:
    await door.catch_up_index()
    operation = str(operation_id) if operation_id else None
    return await asyncio.to_thread(door.timeline, operation, place)


@router.get("/audit/timeline", responses=responses(404))
async def audit_timeline(
    door: Door,
    page: Page,
    who: Caller,
    operation_id: UUID | None = None,
    place: str | None = None,
) -> list[dict[str, Any]]:
    """Every service's published history merged by time, per operation or place: who,
    why, what caused each entry and what it caused (from the API's index of the streams)."""
    operation_id, place = await audit_scope(door, who, "audit_timeline", operation_id, place)
    entries = await indexed_timeline(door, operation_id, place)
    return page.apply([asdict(e) for e in entries])


@router.get("/audit/as-of", responses=responses(404))
async def audit_as_of(
    door: Door,
    at: Annotated[datetime, TimeAsText],
    who: Caller,
    operation_id: UUID | None = None,
    place: str | None = None,
) -> dict[str, Any]:
    """The operation, its cases, task board and milestones, and the place's resilience
    plan, as they stood at ``at`` (from the audit index: each costs its own events)."""
    if at.tzinfo is None:
        raise HTTPException(status_code=422, detail="at: give the time zone, e.g. +13:00")
    operation_id, place = await audit_scope(door, who, "audit_as_of", operation_id, place)
    await door.catch_up_index()
    state = await asyncio.to_thread(door.as_of, at, operation_id, place)
    for key in ("milestones", "place_milestones"):
        if key in state:
            state[key] = await with_notes(door, who, state[key])
    return state


@router.get("/audit/figures", responses=responses(404))
async def audit_figures(
    door: Door, who: Caller, operation_id: UUID | None = None, place: str | None = None
) -> dict[str, Any]:
    """Accountability figures computed from the events (replay gives the same)."""
    operation_id, place = await audit_scope(door, who, "audit_figures", operation_id, place)
    entries = await indexed_timeline(door, operation_id, place)
    scope = {"operation_id": str(operation_id) if operation_id else None, "place": place}
    return {**scope, **figures(entries)}


@router.get("/audit/verify", responses=responses(503))
async def audit_verify(door: Door, who: Caller) -> dict[str, Any]:
    """Each service walks its own store against its hash-chain checkpoints on NATS; the
    first event altered, removed, inserted or reordered is named (``ok`` false). Events
    not yet checkpointed are no reason for ``ok`` false: their count is
    ``not_yet_checkpointed``, named per service in ``warnings``. The notifier's store is
    walked too when it runs; one that does not answer is a warning (the three phases never
    wait on it), never a pass it did not earn."""
    whole_system(who, "the stores' hash chains")
    reports, notifier = await asyncio.gather(
        asyncio.gather(*(door.verify(s) for s in SERVICES)), notifier_verified(door)
    )
    summary = verification_summary([*reports, *notifier])
    if not notifier:
        summary["warnings"].append(f"{NOTIFY}: did not answer, so its store was not verified")
    return summary


async def notifier_verified(door: FrontDoor) -> list[dict[str, Any]]:
    """The notifier's own walk of its store, or nothing when it does not answer."""
    try:
        return [await door.verify(NOTIFY)]
    except ServiceUnavailable:
        return []


@router.get("/audit/rebuild", responses=responses(503))
async def audit_rebuild(door: Door, who: Caller) -> dict[str, Any]:
    """Every list this API serves, rebuilt from the streams alone and compared with the
    live one at the same stream positions: identical, or every difference named."""
    whole_system(who, "the views")
    targets = await door.stream_positions()
    try:
        async with asyncio.timeout(10.0):
            await door.projector.wait_for(targets)
    except TimeoutError:
        raise HTTPException(status_code=503, detail="the read model is still catching up") from None
    # One read of the views' store: the copy is exactly the state at these positions.
    model = door.read_model
    with model.reading():
        positions = {stream: model.position(stream) for stream in targets}
        live = snapshot(model)
    histories = await stream_histories(door.settings, until=positions)
    model = await asyncio.to_thread(replay, door.settings, None, lambda n: None, histories)
    return comparison(live, model, positions)


@router.get(
    "/audit/export",
    response_class=Response,  # documented as served: JSON lines or CSV
    responses={
        200: {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "headers": {
                name: {"schema": {"type": "string"}}
                for name in ("Content-Disposition", "Repr-Digest", "X-Entries")
            },
        },
        **responses(404),
    },
)
async def audit_export(
    door: Door,
    who: Caller,
    operation_id: UUID | None = None,
    place: str | None = None,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
) -> Response:
    """The timeline (everything, an operation or a place) as JSONL or CSV, with its
    SHA-256 in the ``Repr-Digest`` header."""
    operation_id, place = await audit_scope(door, who, "audit_export", operation_id, place)
    entries = await indexed_timeline(door, operation_id, place)
    body = (to_jsonl(entries) if format == "jsonl" else to_csv(entries)).encode("utf-8")
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return Response(
        body,
        media_type="application/x-ndjson" if format == "jsonl" else "text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="timeline.{format}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "X-Entries": str(len(entries)),
        },
    )
