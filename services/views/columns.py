"""The views' indexed columns: what each kind of row sets of them (``store.py`` keeps them beside
the row's body, indexed), and the conditions over them that the task lists, their counts and the
board share, so a filter means the same wherever it is asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from contracts.hold import FINISHED_STATUSES as FINISHED
from contracts.place import place_key
from services.runtime.deadline_store import to_micros
from services.views.rows import CaseRow, MilestoneRow, TaskRow

# A token's limits: the places and the operations it is limited to (empty: not limited).
Within = tuple[tuple[str, ...], tuple[str, ...]]


def task_columns(task: TaskRow) -> dict[str, Any]:
    return {
        "agency": task.agency,
        "place_key": place_key(task.place or ""),
        "operation_id": task.operation_id,
        "case_id": task.case_id,
        "status": task.status,
        "due_us": (due := to_micros(datetime.fromisoformat(task.due_at))),
        "open_due_us": None if task.status in FINISHED else due,
        "worker": task.worker_ref,
        "label": task.kind,
        "mark": task.escalation_level,
        "took_us": None
        if task.completed_at is None
        else to_micros(datetime.fromisoformat(task.completed_at))
        - to_micros(datetime.fromisoformat(task.opened_at)),
    }


def wait_columns(wait: dict[str, Any]) -> dict[str, Any]:
    return {
        "agency": wait["agency"],
        "case_id": wait["task_id"],
        "place_key": wait["place_key"],
        "operation_id": wait["operation_id"],
        "took_us": wait["took_us"],
    }


def case_columns(case: CaseRow) -> dict[str, Any]:
    return {"operation_id": case.operation_id, "place_key": place_key(case.place)}


def milestone_columns(m: MilestoneRow) -> dict[str, Any]:
    return {"operation_id": m.operation_id, "place_key": place_key(m.place)}


def task_filter(
    operation_id: UUID | None,
    agency: str | None,
    status: str | None,
    case_id: UUID | None,
    place: str | None,
    overdue_at: datetime | None,
    worker_ref: str | None = None,
    within: Within | None = None,
) -> tuple[str, list[Any]]:
    """The condition over the tasks' indexed columns (``store.py``) for these filters."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("operation_id", operation_id),
        ("agency", agency),
        ("status", status),
        ("case_id", case_id),
        ("place_key", None if place is None else place_key(place)),
        ("worker", worker_ref),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(str(value))
    if within is not None:
        scope, values = within_filter(within)
        where.append(scope)
        params += values
    if overdue_at is not None:  # only an unfinished task has an open due time
        where.append("open_due_us < ?")
        params.append(to_micros(overdue_at))
    return "".join(f" AND {w}" for w in where), params


def within_filter(within: Within) -> tuple[str, list[Any]]:
    """A token's limits over the indexed columns: the places (by key) and operations it is
    limited to, each only if it is limited by them (an item naming none is outside)."""
    places, operations = within
    clauses, params = ["1 = 1"], []
    if places:
        clauses.append(f"place_key IN ({', '.join('?' * len(places))})")
        params += [place_key(p) for p in places]
    if operations:
        clauses.append(f"operation_id IN ({', '.join('?' * len(operations))})")
        params += [str(o) for o in operations]
    return " AND ".join(clauses), params
