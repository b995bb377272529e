"""The leadership board's numbers, counted in the views' store from the task rows' indexed
columns (no row is read whole): per agency and kind the open, overdue and escalated tasks; per
agency the completed ones with the median hours from opening to completion and from offer to
accept; and the unplaced queue, soonest due first.

Counted here rather than by the page from ``GET /tasks``'s JSON: a board over every place
would otherwise turn 40,000 rows into JSON to count them (most of half a second).
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING, Any
from uuid import UUID

from contracts.hold import FINISHED_STATUSES
from services.runtime.deadline_store import to_micros
from services.views.columns import task_filter
from services.views.rows import shown

if TYPE_CHECKING:
    from services.views.columns import Within
    from services.views.read_model import ReadModel

HOUR_US = 3_600_000_000


def board_numbers(
    model: ReadModel,
    now: datetime,
    operation_id: UUID | None = None,
    place: str | None = None,
    within: Within | None = None,
) -> dict[str, Any]:
    """Over the tasks ``GET /tasks`` would list to the caller for the same ``operation_id``
    and ``place`` (``within``: the limits of the caller's token)."""
    where, params = task_filter(operation_id, None, None, None, place, None, None, within)
    unplaced = model.list_tasks(
        operation_id, None, "unplaced", None, place, sort="due", within=within
    )
    return {
        "by_agency_and_kind": _tally(model, where, params, now),
        "by_agency": _timings(model, where, params),
        "unplaced": shown(unplaced),
    }


def _tally(model: ReadModel, where: str, params: list[Any], now: datetime) -> list[dict[str, Any]]:
    closed = sorted({*FINISHED_STATUSES, "unplaced"})
    # Grouped in the database (over an index that covers it): a few rows come back, not one
    # per open task. As the pages' badge says it: overdue from the due time itself.
    rows = model.tasks.recorder.query(
        "SELECT agency, label, COUNT(*),"
        " SUM(CASE WHEN due_us <= ? THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN mark IS NOT NULL AND mark <> '' THEN 1 ELSE 0 END)"
        f" FROM view_rows WHERE kind = 'task'{where}"
        f" AND status NOT IN ({', '.join('?' * len(closed))}) GROUP BY agency, label",
        [to_micros(now), *params, *closed],
    )
    counts = {(agency or "", kind): (n, int(late), int(up)) for agency, kind, n, late, up in rows}
    return [
        {"agency": agency, "kind": kind, "open": n, "overdue": late, "escalated": up}
        for (agency, kind), (n, late, up) in sorted(counts.items())
    ]


def _timings(model: ReadModel, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """Per agency: tasks completed and the median hours from opening to completion (by the
    agency holding each when it was completed); acceptances and the median hours from an
    offer to that agency to its accept (each acceptance counts, also of a task moved on)."""
    recorder = model.tasks.recorder
    done: dict[str, list[float]] = {}
    completed = recorder.columns(
        "task",
        ("agency", "took_us"),
        f"{where} AND status = ? AND took_us IS NOT NULL",
        [*params, "completed"],
    )
    for agency, took_us in completed:
        done.setdefault(agency or "", []).append(took_us / HOUR_US)
    # An acceptance row carries its task's place and operation: the same filter applies.
    waits: dict[str, list[float]] = {}
    for agency, took_us in recorder.columns("accept_wait", ("agency", "took_us"), where, params):
        waits.setdefault(agency, []).append(took_us / HOUR_US)
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
