"""What the system said at a moment: an operation (its cases, task board and milestones) and a
place's resilience plan, in one shape for the command line and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from contracts.place import place_key, same_place
from services.audit.index import PLAN_EVENTS, AuditIndex
from services.views.read_model import ReadModel
from services.views.rows import shown


def state_at(
    index: AuditIndex, moment: datetime, operation_id: UUID | None, place: str | None
) -> dict[str, Any]:
    """From the audit index: each part costs its own events, not the whole history."""
    if operation_id is None and place is None:
        return state_of(index.replay(until=moment), moment, None, None)
    operation = index.replay(operation_id, moment) if operation_id else ReadModel()
    state = state_of(operation, moment, operation_id, None)
    if place is not None:
        state.update(plan_of(index.replay(until=moment, place=place, types=PLAN_EVENTS), place))
        state["note"] = nothing_yet(state, moment, operation_id, place, planned=True)
    return state


def nothing_yet(
    state: dict[str, Any],
    moment: datetime,
    operation_id: UUID | None,
    place: str | None,
    planned: bool,
) -> str | None:
    """Words for an answer with nothing in it, so an empty table is not taken for an empty
    operation or plan: what had not happened yet by ``moment`` (``planned``: whether any
    operation had been); None when it had."""
    when = moment.isoformat()
    if operation_id is not None and state["operation"] is None:
        return f"operation {operation_id} had not been planned by {when}"
    if place is not None and state.get("plan") is None and not state.get("place_milestones"):
        return f"{place} had no resilience plan by {when}"
    if operation_id is None and place is None and not planned:
        return f"nothing had happened by {when}: no operation had been planned"
    return None


def state_of(
    model: ReadModel, moment: datetime, operation_id: UUID | None, place: str | None
) -> dict[str, Any]:
    operation = model.operations.get(operation_id) if operation_id else None
    state = {
        "as_of": moment.isoformat(),
        "operation": operation.as_json() if operation else None,
        "cases": shown(model.list_cases(operation_id)),
        "tasks": shown(model.list_tasks(operation_id)),
        "milestones": shown(model.list_milestones(operation_id)),
        **(plan_of(model, place) if place is not None else {}),
    }
    planned = bool(model.operations)
    return {**state, "note": nothing_yet(state, moment, operation_id, place, planned)}


def plan_of(model: ReadModel, place: str) -> dict[str, Any]:
    """A place's resilience plan, its milestones (its own and its operations') and programmes."""
    plan = model.plans.get(place_key(place))
    return {
        "plan": plan.as_json() if plan else None,
        "place_milestones": shown(model.list_milestones(place=place)),
        "programmes": shown(p for p in model.programmes.values() if same_place(p.place, place)),
    }
