"""Households' cases, their personal details (every read recorded first) and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as FastApiPath

from contracts.commands import EraseHousehold, ErasureDetails, RecordPersonalRead
from contracts.envelope import REF_PATTERN
from services.api.access import Caller
from services.api.deps import Door, item_for, real_text, scoped
from services.api.paging import Page
from services.api.problems import Refused, responses
from services.runtime.authorization import NotPermitted, check, household_relation
from services.views.personal import personal_view
from services.views.rows import shown

router = APIRouter()


@router.get("/cases")
async def list_cases(
    door: Door, page: Page, who: Caller, operation_id: UUID | None = None
) -> list[dict[str, Any]]:
    """Households' cases: counts and statuses (personal details: ``/cases/{id}/personal``)."""
    return page.apply(shown(scoped(who, door.read_model.list_cases(operation_id))))


@router.get("/cases/{case_id}/personal", responses=responses(404, 503))
async def read_personal_details(
    door: Door,
    case_id: UUID,
    who: Caller,
    reason: Annotated[str, Query(min_length=5, max_length=500, description="why you are reading")],
) -> dict[str, Any]:
    """A household's personal details (names, ages, address, notes, the planning cell's
    staged note, its tasks' notes, reasons and outcomes, and its children's ages from seizures
    in its home and from a key witness living there): for staff of an agency that has accepted
    one of its tasks, from then until a set time (30 days by default) after its last one
    finished or moved on; and for auditors. An agency only offered a task sees what it needs to
    decide on the task's own page. The read is recorded in Hold's history (who, what, when,
    why) before anything is shown; if it cannot be recorded, nothing is shown."""
    reason = real_text(reason, "reason", "why you are reading")
    case = item_for(
        who,
        "read_personal_details",
        door.read_model.cases.get(case_id),
        hidden_as=f"no case {case_id}",
        relation=household_relation(
            who, door.read_model.engagements(case_id), datetime.now(UTC), door.personal_window
        ),
    )
    recorded = await door.send(
        "hold",
        "record_personal_read",
        RecordPersonalRead(case_id=case_id, actor=who.actor, reason=reason),
    )
    if recorded.status >= 400:
        raise Refused(recorded.status, recorded.error or "the read could not be recorded")
    return await personal_view(door.read_model, case, door.keys.opener())


@router.get("/cases/{case_id}/reads", responses=responses(404))
async def list_personal_reads(
    door: Door, case_id: UUID, page: Page, who: Caller
) -> list[dict[str, Any]]:
    """Who read this household's personal details, when and why (from Hold's history)."""
    item_for(who, "read_personal_reads", door.read_model.cases.get(case_id), f"no case {case_id}")
    return page.apply(shown(door.read_model.personal_reads.get(str(case_id), [])))


@router.post("/households/{household_ref}/erasure", responses=responses(400, 404, 409, 503))
async def erase_household(
    door: Door,
    household_ref: Annotated[str, FastApiPath(min_length=1, max_length=128, pattern=REF_PATTERN)],
    body: ErasureDetails,
    who: Caller,
) -> dict[str, Any]:
    """Erase a household's personal details: Hold records the erasure (who, why), then its
    key is destroyed, so every sealed copy (stores, streams, exports) becomes unreadable
    while the rest of the history, and its hash chain, stay as they were. Idempotent: a
    retry after a failure finishes the job. A chair whose token is limited to places erases
    only a household whose every case lies within them."""
    check(who, "erase_household")
    if who.scoped:
        cases = [c for c in door.read_model.cases.values() if c.household_ref == household_ref]
        inside = [c for c in cases if who.covers_item(c)]
        if not inside:
            raise HTTPException(status_code=404, detail=f"no household {household_ref}")
        if len(inside) < len(cases):
            raise NotPermitted(
                f"household {household_ref} has cases outside your token's scope "
                f"({who.scope_text()}): its erasure is for a chair whose token covers them"
            )
    command = EraseHousehold(household_ref=household_ref, actor=who.actor, reason=body.reason)
    result = await door.send("hold", "erase_household", command)
    if result.status >= 400:
        raise Refused(result.status, result.error or "refused")
    await door.keys.erase(household_ref)
    return {**result.result, "key_destroyed": True}
