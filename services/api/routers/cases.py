"""Households' cases, their personal details (every read recorded first) and erasure."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as FastApiPath

from contracts.commands import (
    EraseHousehold,
    ErasureDetails,
    RecordPersonalRead,
)
from contracts.envelope import REF_PATTERN
from services.api.access import (
    FIELDS,
    Caller,
    sees_personal_details,
)
from services.api.deps import (
    Door,
    check_item,
    scoped,
)
from services.api.door import FrontDoor
from services.api.paging import Page
from services.api.problems import Refused
from services.runtime.sealing import is_sealed

router = APIRouter()


@router.get("/cases")
async def list_cases(
    door: Door, page: Page, who: Caller, operation_id: UUID | None = None
) -> list[dict[str, Any]]:
    """Households' cases: counts and statuses (personal details: ``/cases/{id}/personal``)."""
    return page.apply(scoped(who, door.read_model.list_cases(operation_id)))


@router.get("/cases/{case_id}/personal")
async def read_personal_details(
    door: Door,
    case_id: UUID,
    who: Caller,
    reason: Annotated[str, Query(min_length=5, max_length=500, description="why you are reading")],
) -> dict[str, Any]:
    """A household's personal details (names, ages, address, notes, the planning cell's
    staged note, its tasks' notes, and its children's ages from seizures in its home and
    from a key witness living there): only for staff of an agency holding one of its
    tasks, and auditors. The read is recorded in Hold's history (who, what, when, why)
    before anything is shown; if it cannot be recorded, nothing is shown."""
    case = door.read_model.cases.get(case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=f"no case {case_id}")
    check_item(who, case, f"case {case_id}")
    if not sees_personal_details(who, door.read_model.holding_agencies(case_id)):
        raise HTTPException(
            status_code=403,
            detail="a household's personal details are for "
            f"{FIELDS['household_personal_details']}; "
            f"{who.agency} {who.role} may not read them here",
        )
    recorded = await door.send(
        "hold",
        "record_personal_read",
        RecordPersonalRead(case_id=case_id, actor=who.actor, reason=reason),
    )
    if recorded.status >= 400:
        raise Refused(recorded.status, recorded.error or "the read could not be recorded")
    return await personal_view(door, case)


async def personal_view(door: FrontDoor, case: dict[str, Any]) -> dict[str, Any]:
    model = door.read_model
    opener = door.keys.opener()
    household = (case["operation_id"], case["household_ref"])
    arrests = model.household_arrests.get(household, [])
    staged_note = model.staged_notes.get(household)
    notes = [
        {
            "task_id": str(task_id),
            "at": step["at"],
            "actor": step["actor"],
            "text": await opener.text(step["detail"]["text"]),
        }
        for task_id in model.case_tasks.get(case["case_id"], [])
        for step in model.task_history.get(task_id, [])
        if is_sealed(step["detail"].get("text"))
    ]
    return {
        "case_id": case["case_id"],
        "household_ref": case["household_ref"],
        "operation_id": case["operation_id"],
        "erased": model.erasures.get(case["household_ref"]),
        "staged_note": await opener.text(staged_note) if staged_note else None,
        "arrests": [
            {
                **a,
                "ages": await opener.details(a["ages"]),
                "personal": await opener.details(a["personal"]),
            }
            for a in arrests
        ],
        "seizures": [
            {**z, "ages": await opener.details(z["ages"])}
            for z in model.household_seizures.get(household, [])
        ],
        "witnesses": [
            {**w, "ages": await opener.details(w["ages"])}
            for w in model.household_witnesses.get(household, [])
        ],
        "task_notes": notes,
    }


@router.get("/cases/{case_id}/reads")
async def list_personal_reads(
    door: Door, case_id: UUID, page: Page, who: Caller
) -> list[dict[str, Any]]:
    """Who read this household's personal details, when and why (from Hold's history)."""
    case = door.read_model.cases.get(case_id)
    if case is None:
        raise HTTPException(status_code=404, detail=f"no case {case_id}")
    check_item(who, case, f"case {case_id}")
    return page.apply(door.read_model.personal_reads.get(str(case_id), []))


@router.post("/households/{household_ref}/erasure")
async def erase_household(
    door: Door,
    household_ref: Annotated[str, FastApiPath(min_length=1, max_length=128, pattern=REF_PATTERN)],
    body: ErasureDetails,
    who: Caller,
) -> dict[str, Any]:
    """Erase a household's personal details: Hold records the erasure (who, why), then its
    key is destroyed, so every sealed copy (stores, streams, exports) becomes unreadable
    while the rest of the history, and its hash chain, stay as they were. Idempotent: a
    retry after a failure finishes the job."""
    command = EraseHousehold(household_ref=household_ref, actor=who.actor, reason=body.reason)
    result = await door.send("hold", "erase_household", command)
    if result.status >= 400:
        raise Refused(result.status, result.error or "refused")
    await door.keys.erase(household_ref)
    return {**result.result, "key_destroyed": True}
