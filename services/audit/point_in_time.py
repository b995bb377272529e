"""What the system said at a moment: an operation (its cases, task board and milestones) and a
place's resilience plan, in one shape for the command line and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.api.read_model import ReadModel
from services.audit.index import PLAN_EVENTS, AuditIndex


def state_at(
    index: AuditIndex, moment: datetime, operation_id: UUID | None, place: str | None
) -> dict[str, Any]:
    """From the audit index: each part costs its own events, not the whole history."""
    if operation_id is None and place is None:
        return state_of(index.replay(until=moment), moment, None, None)
    operation = index.replay(operation_id, moment) if operation_id else ReadModel()
    state = state_of(operation, moment, operation_id, None)
    if place is not None:
        plan = index.replay(until=moment, place=place, types=PLAN_EVENTS)
        state.update(state_of(plan, moment, None, place, plan_only=True))
    return state


def state_of(
    model: ReadModel,
    moment: datetime,
    operation_id: UUID | None,
    place: str | None,
    plan_only: bool = False,
) -> dict[str, Any]:
    plan: dict[str, Any] = {}
    if place is not None:
        plan = {
            "plan": model.plans.get(place.casefold()),
            "place_milestones": model.list_milestones(place=place),
            "programmes": [
                p for p in model.programmes.values() if p["place"].casefold() == place.casefold()
            ],
        }
    if plan_only:
        return plan
    return {
        "as_of": moment.isoformat(),
        "operation": model.operations.get(operation_id) if operation_id else None,
        "cases": model.list_cases(operation_id),
        "tasks": model.list_tasks(operation_id),
        "milestones": model.list_milestones(operation_id),
        **plan,
    }
