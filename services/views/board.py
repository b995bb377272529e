"""The leadership board's numbers, counted from the task rows themselves: per agency and kind
the open, overdue and escalated tasks; per agency the completed ones with the median hours
from opening to completion and from offer to accept; and the unplaced queue.

Counted here rather than by the page from ``GET /tasks``'s JSON: a board over every place
would otherwise turn 40,000 rows into JSON to count them (most of half a second).
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING, Any

from contracts.hold import FINISHED_STATUSES
from services.views.rows import TaskRow, shown

if TYPE_CHECKING:
    from services.views.read_model import ReadModel


def board_numbers(model: ReadModel, tasks: list[TaskRow], now: datetime) -> dict[str, Any]:
    """``tasks`` are the ones the caller may see (already scoped and filtered)."""
    unplaced: list[TaskRow] = sorted((t for t in tasks if t.status == "unplaced"), key=_due)
    return {
        "by_agency_and_kind": _tally(tasks, now),
        "by_agency": _timings(model, tasks),
        "unplaced": shown(unplaced),
    }


def _due(task: TaskRow) -> datetime:
    return datetime.fromisoformat(task.due_at)


def _tally(tasks: list[TaskRow], now: datetime) -> list[dict[str, Any]]:
    # Plain lists, not Counters: this runs over every open task of a board (tens of thousands).
    rows: dict[tuple[str, str], list[int]] = {}
    closed = {*FINISHED_STATUSES, "unplaced"}
    at = datetime.fromisoformat
    for task in tasks:
        if task.status in closed:
            continue
        key = (task.agency or "", task.kind)
        counts = rows.get(key)
        if counts is None:
            counts = rows[key] = [0, 0, 0]
        counts[0] += 1
        # As the pages' badge says it: overdue from the due time itself.
        if at(task.due_at) <= now:
            counts[1] += 1
        if task.escalation_level:
            counts[2] += 1
    return [
        {"agency": agency, "kind": kind, "open": n, "overdue": late, "escalated": up}
        for (agency, kind), (n, late, up) in sorted(rows.items())
    ]


def _timings(model: ReadModel, tasks: list[TaskRow]) -> list[dict[str, Any]]:
    """Per agency: tasks completed and the median hours from opening to completion (by the
    agency holding each when it was completed); acceptances and the median hours from an
    offer to that agency to its accept (each acceptance counts, also of a task moved on)."""
    done: dict[str, list[float]] = {}
    waits: dict[str, list[float]] = {}
    # Read for all the tasks at once, not one query per task.
    waited = model.accept_waits.many(t.task_id for t in tasks)
    for task in tasks:
        if task.status == "completed" and task.completed_at:
            took = datetime.fromisoformat(task.completed_at) - datetime.fromisoformat(
                task.opened_at
            )
            done.setdefault(task.agency or "", []).append(took.total_seconds() / 3600)
        for agency, hours in waited.get(task.task_id, ()):
            waits.setdefault(agency, []).append(hours)
    return [
        {
            "agency": agency,
            "completed": len(done.get(agency, ())),
            "median_hours": _median(done.get(agency)),
            "accepted": len(waits.get(agency, ())),
            "median_hours_to_accept": _median(waits.get(agency)),
        }
        for agency in sorted(done.keys() | waits.keys())
    ]


def _median(hours: list[float] | None) -> float | None:
    return round(median(hours), 1) if hours else None
