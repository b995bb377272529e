"""Accountability figures, computed from the events alone: replaying them gives the same.

- time from arrest to first contact: from a household's first arrest to the first time work
  with the household began (any of its case's tasks started or completed);
- the share of tasks completed within their due time (as the due time stood at the end);
- escalations by level, declines by reason, milestones met.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median
from typing import Any

from services.audit.timeline import Entry


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def figures(entries: list[Entry]) -> dict[str, Any]:
    arrests: dict[tuple[str, str], datetime] = {}  # (operation, household) -> first arrest
    case_household: dict[str, tuple[str, str]] = {}
    task_case: dict[str, str] = {}
    due: dict[str, datetime] = {}
    completed: dict[str, datetime] = {}
    first_work: dict[str, datetime] = {}  # case -> first task started or completed
    escalations: Counter[str] = Counter()
    declines: Counter[str] = Counter()
    milestones: dict[str, str] = {}
    for e in entries:
        f = e.facts
        if e.event_type == "ArrestRecorded":
            key = (e.operation_id, f["household_ref"])
            at = _at(e.occurred_at)
            arrests[key] = min(arrests.get(key, at), at)
        elif e.event_type == "WhanauCaseOpened":
            case_household[f["case_id"]] = (e.operation_id, f["household_ref"])
        elif e.event_type == "SupportTaskOpened":
            task_case[f["task_id"]] = f["case_id"]
            due[f["task_id"]] = _at(f["due_at"])
        elif e.event_type == "SupportTaskRescheduled":
            due[f["task_id"]] = _at(f["due_at"])
        elif e.event_type == "SupportTaskChanged":
            task_id, change = f["task_id"], f["change"]
            if change in ("started", "completed"):
                case = task_case.get(task_id)
                at = _at(e.occurred_at)
                if case is not None:
                    first_work[case] = min(first_work.get(case, at), at)
                if change == "completed":
                    completed[task_id] = at
            elif change == "escalated":
                escalations[f["detail"].get("level", "unknown")] += 1
            elif change == "declined":
                # Counted by code: a reason in words may name someone (and is sealed).
                declines[f["detail"].get("reason_code") or "unspecified"] += 1
            elif change == "unplaced":
                escalations["leadership_group"] += 1
        elif e.event_type == "MilestoneScheduled":
            milestones[f["milestone_id"]] = "scheduled"
        elif e.event_type == "MilestoneChanged" and f.get("status"):
            milestones[f["milestone_id"]] = f["status"]

    waits = []
    for case, household in case_household.items():
        arrested = arrests.get(household)
        if arrested is not None and case in first_work:
            waits.append((first_work[case] - arrested).total_seconds() / 60)
    households = [h for h in case_household.values() if h in arrests]
    on_time = [t for t, at in completed.items() if at <= due[t]]
    return {
        "households": len(case_household),
        "households_contacted": len(waits),
        "households_not_yet_contacted": len(households) - len(waits),
        "minutes_from_arrest_to_first_contact": {
            "median": round(median(waits), 1) if waits else None,
            "max": round(max(waits), 1) if waits else None,
        },
        "tasks": len(task_case),
        "tasks_completed": len(completed),
        "tasks_completed_within_due_time": len(on_time),
        "share_done_within_due_time": round(len(on_time) / len(task_case), 3)
        if task_case
        else None,
        "escalations_by_level": dict(sorted(escalations.items())),
        "declines_by_reason": dict(declines.most_common()),
        "milestones": len(milestones),
        "milestones_met": sum(1 for s in milestones.values() if s == "met"),
    }
