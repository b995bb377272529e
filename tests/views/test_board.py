"""The leadership board's numbers: open, overdue and escalated per agency and kind, and per
agency the median hours from an offer to its accept and from opening to completion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from contracts import Actor, SupportTaskChanged, SupportTaskOpened, WhanauCaseOpened
from services.views.board import board_numbers
from services.views.read_model import ReadModel

pytestmark = pytest.mark.application

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
OP = uuid4()


def env(at: datetime) -> dict[str, object]:
    actor = Actor(id="x", agency="oranga_tamariki", role="agency_worker")
    return {
        "event_id": uuid4(),
        "occurred_at": at,
        "recorded_at": at,
        "operation_id": OP,
        "actor": actor,
    }


def opened(model: ReadModel, case_id: UUID, agency: str, due_in: timedelta) -> UUID:
    task_id = uuid4()
    model.apply(
        SupportTaskOpened(
            **env(AT),
            task_id=task_id,
            case_id=case_id,
            kind="child_safety_check",
            lead_agency=agency,
            due_at=AT + due_in,
            playbook="national@v1",
            rule_id="r",
        )
    )
    return task_id


def changed(
    model: ReadModel, task_id: UUID, what: str, status: str, hours: float, agency: str | None = None
) -> None:
    model.apply(
        SupportTaskChanged(
            **env(AT + timedelta(hours=hours)),
            task_id=task_id,
            change=what,
            status=status,
            agency=agency,
            detail={},
        )
    )


def test_offer_to_accept_and_completion_times_per_agency() -> None:
    model = ReadModel()
    case_id = uuid4()
    model.apply(WhanauCaseOpened(**env(AT), case_id=case_id, household_ref="HH-1", place="Gore"))
    # Oranga Tamariki accepts its offer after 1 hour and completes at 5 hours.
    quick = opened(model, case_id, "oranga_tamariki", timedelta(hours=48))
    changed(model, quick, "accepted", "accepted", 1, "oranga_tamariki")
    changed(model, quick, "completed", "completed", 5, "oranga_tamariki")
    # Declined by Oranga Tamariki, offered to MSD at 2 hours, accepted by MSD at 5: 3 hours.
    moved = opened(model, case_id, "oranga_tamariki", timedelta(hours=48))
    changed(model, moved, "declined", "offered", 2)
    changed(model, moved, "offered", "offered", 2, "msd")
    changed(model, moved, "accepted", "accepted", 5, "msd")
    # Left with Oranga Tamariki, overdue by the board's moment.
    late = opened(model, case_id, "oranga_tamariki", timedelta(hours=1))
    numbers = board_numbers(model, AT + timedelta(hours=6))
    assert numbers["by_agency"] == [
        {
            "agency": "msd",
            "completed": 0,
            "median_hours": None,
            "accepted": 1,
            "median_hours_to_accept": 3.0,
        },
        {
            "agency": "oranga_tamariki",
            "completed": 1,
            "median_hours": 5.0,
            "accepted": 1,
            "median_hours_to_accept": 1.0,
        },
    ]
    assert numbers["by_agency_and_kind"] == [
        {"agency": "msd", "kind": "child_safety_check", "open": 1, "overdue": 0, "escalated": 0},
        {
            "agency": "oranga_tamariki",
            "kind": "child_safety_check",
            "open": 1,
            "overdue": 1,
            "escalated": 0,
        },
    ]
    changed(model, late, "unplaced", "unplaced", 7)
    unplaced = board_numbers(model, AT)["unplaced"]
    assert [t["task_id"] for t in unplaced] == [str(late)]
