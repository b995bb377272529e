"""A household's personal details, from the views, with its sealed text opened: what the
need-to-know route shows once the read is recorded (the route decides who may ask)."""

from __future__ import annotations

from typing import Any

from services.runtime.sealing import Opener, is_sealed
from services.views.read_model import ReadModel
from services.views.rows import CaseRow


async def personal_view(model: ReadModel, case: CaseRow, opener: Opener) -> dict[str, Any]:
    """The case's household record with its sealed text opened: each arrest's ages and
    personal details, seizures in its home and witnesses living there, the planning cell's
    staged note, and its tasks' notes and typed words (who wrote them, when)."""
    household = (case.operation_id, case.household_ref)
    arrests = model.household_arrests.get(household, [])
    staged_note = model.staged_notes.get(household)
    steps = [
        (task_id, step)
        for task_id in model.case_tasks.get(case.case_id, [])
        for step in model.task_history.get(task_id, [])
    ]
    notes = [
        {
            "task_id": str(task_id),
            "at": step.at,
            "actor": step.actor,
            "text": await opener.text(step.detail["text"]),
        }
        for task_id, step in steps
        if is_sealed(step.detail.get("text"))
    ]
    # Reasons, outcomes and overrides typed on a task's steps: free text that may name people.
    texts = [
        {
            "task_id": str(task_id),
            "change": step.change,
            "field": name,
            "at": step.at,
            "actor": step.actor,
            "text": await opener.text(value),
        }
        for task_id, step in steps
        for name, value in step.detail.items()
        if name != "text" and is_sealed(value)
    ]
    erased = model.erasures.get(case.household_ref)
    return {
        "case_id": case.case_id,
        "household_ref": case.household_ref,
        "operation_id": case.operation_id,
        "erased": erased.as_json() if erased else None,
        "staged_note": await opener.text(staged_note) if staged_note else None,
        "arrests": [
            {
                **a.as_json(),
                "ages": await opener.details(a.ages),
                "personal": await opener.details(a.personal),
            }
            for a in arrests
        ],
        "seizures": [
            {**z.as_json(), "ages": await opener.details(z.ages)}
            for z in model.household_seizures.get(household, [])
        ],
        "witnesses": [
            {**w.as_json(), "ages": await opener.details(w.ages)}
            for w in model.household_witnesses.get(household, [])
        ],
        "task_notes": notes,
        "task_texts": texts,
    }
