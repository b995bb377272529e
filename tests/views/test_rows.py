"""Typed rows serve the same JSON the API has always served: a field an event has not set yet
(an operation's launch, a milestone's history) is absent, not null."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts import (
    Actor,
    MilestoneChanged,
    MilestoneScheduled,
    OperationLaunched,
    OperationPlanned,
)
from services.views.read_model import ReadModel
from services.views.rows import OperationRow

pytestmark = pytest.mark.domain

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
ACTOR = Actor(id="x", agency="police", role="planner")


def envelope(operation_id: object) -> dict[str, object]:
    return {
        "event_id": uuid4(),
        "occurred_at": AT,
        "recorded_at": AT,
        "operation_id": operation_id,
        "actor": ACTOR,
    }


def test_an_operation_has_its_launch_time_only_once_launched() -> None:
    model, op = ReadModel(), uuid4()
    model.apply(
        OperationPlanned(
            **envelope(op),
            name="Operation Pakari",
            district="Southland",
            place="Mataura",
            target_group="meth supply network",
            planned_start=AT,
        )
    )
    planned = model.operations[op].as_json()
    assert "launched_at" not in planned and "concluded_at" not in planned
    assert planned["status"] == "planned" and planned["arrests"] == 0
    assert planned["correlation_id"] == str(op)
    model.apply(OperationLaunched(**envelope(op), place="Mataura"))
    row = model.operations[op]
    assert isinstance(row, OperationRow) and row.status == "launched"
    assert row.as_json()["launched_at"] == AT.isoformat()


def test_a_milestone_has_a_history_only_once_something_happened_to_it() -> None:
    model, op, milestone = ReadModel(), uuid4(), uuid4()
    model.apply(
        MilestoneScheduled(
            **envelope(op),
            milestone_id=milestone,
            plan_id=uuid4(),
            place="Mataura",
            label="Hold review",
            days_after_conclusion=30,
            owner_agency="rocc_leadership_group",
            due_at=AT,
            status="scheduled",
        )
    )
    assert "history" not in model.milestones[milestone].as_json()
    assert "escalation_level" not in model.milestones[milestone].as_json()
    model.apply(
        MilestoneChanged(
            **envelope(op),
            milestone_id=milestone,
            change="escalated",
            status=None,
            detail={"level": "owner"},
        )
    )
    shown = model.milestones[milestone].as_json()
    assert shown["escalation_level"] == "owner"
    assert [step["change"] for step in shown["history"]] == ["escalated"]
