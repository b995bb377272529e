"""The leadership group's board and Hold summary, built from integration events alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from contracts import (
    Actor,
    ArrestLinkedToCase,
    SupportTaskChanged,
    SupportTaskOpened,
    WhanauCaseOpened,
)
from services.views.read_model import ReadModel

pytestmark = pytest.mark.application

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
OP = uuid4()
ACTOR = Actor(id="x", agency="oranga_tamariki", role="agency_worker")


def env(at: datetime = AT) -> dict[str, object]:
    return {
        "event_id": uuid4(),
        "occurred_at": at,
        "recorded_at": at,
        "operation_id": OP,
        "actor": ACTOR,
    }


def household(model: ReadModel, ref: str, place: str, children: int) -> UUID:
    case_id = uuid4()
    model.apply(WhanauCaseOpened(**env(), case_id=case_id, household_ref=ref, place=place))
    model.apply(
        ArrestLinkedToCase(
            **env(),
            case_id=case_id,
            arrest_id=uuid4(),
            children_total=children,
            only_carer_present=True,
        )
    )
    return case_id


def task(model: ReadModel, case_id: UUID, kind: str, agency: str, due_in: timedelta) -> UUID:
    task_id = uuid4()
    model.apply(
        SupportTaskOpened(
            **env(),
            task_id=task_id,
            case_id=case_id,
            kind=kind,
            lead_agency=agency,
            due_at=AT + due_in,
            playbook="national@v1",
            rule_id="r",
        )
    )
    return task_id


def change(
    model: ReadModel, task_id: UUID, what: str, status: str | None, at: datetime, **detail: object
) -> None:
    model.apply(
        SupportTaskChanged(
            **env(at),
            task_id=task_id,
            change=what,
            status=status,
            agency=None,  # type: ignore[arg-type]
            detail=detail,
        )
    )


def test_the_board_filters_by_place_agency_and_overdue_and_the_summary_adds_up() -> None:
    """Two households in Mataura, one in Gore. One task done in time, one done late, one left
    overdue and escalated to the chair: the board and the summary say so."""
    model = ReadModel()
    mataura_1 = household(model, "HH-1", "Mataura", children=3)
    mataura_2 = household(model, "HH-2", "Mataura", children=0)
    gore = household(model, "HH-3", "Gore", children=1)
    on_time = task(model, mataura_1, "child_safety_check", "oranga_tamariki", timedelta(hours=2))
    late = task(model, mataura_2, "family_liaison_contact", "police", timedelta(hours=4))
    left = task(model, gore, "child_safety_check", "oranga_tamariki", timedelta(hours=2))
    change(model, on_time, "completed", "completed", AT + timedelta(hours=1), outcome="safe")
    change(model, late, "completed", "completed", AT + timedelta(hours=6), outcome="seen")
    change(model, left, "escalated", None, AT + timedelta(hours=4), level="leadership_group_chair")

    now = AT + timedelta(hours=8)
    assert {t.task_id for t in model.list_tasks(place="mataura")} == {str(on_time), str(late)}
    assert [t.task_id for t in model.list_tasks(overdue_at=now)] == [str(left)]
    assert [t.task_id for t in model.list_tasks(agency="police")] == [str(late)]
    assert model.list_tasks(overdue_at=AT + timedelta(hours=1)) == []

    summary = model.hold_summary(OP, now)
    assert summary["households"] == 3 and summary["children"] == 4
    assert summary["tasks_by_status"] == {"completed": 2, "offered": 1}
    assert summary["completed_within_due_time"] == 1
    assert summary["share_done_within_due_time"] == pytest.approx(1 / 3, abs=0.001)
    assert summary["overdue"] == 1
    assert summary["open_escalations"] == [
        {
            "task_id": str(left),
            "kind": "child_safety_check",
            "level": "leadership_group_chair",
            "unplaced": False,
        }
    ]


def test_a_task_every_agency_declined_is_an_open_escalation_to_the_leadership_group() -> None:
    model = ReadModel()
    case = household(model, "HH-1", "Gore", children=1)
    stuck = task(model, case, "child_safety_check", "oranga_tamariki", timedelta(hours=2))
    change(model, stuck, "unplaced", "unplaced", AT + timedelta(minutes=20))
    (escalation,) = model.hold_summary(OP, AT + timedelta(minutes=30))["open_escalations"]
    assert escalation == {
        "task_id": str(stuck),
        "kind": "child_safety_check",
        "level": "leadership_group",
        "unplaced": True,
    }


def test_done_within_due_time_compares_instants_not_text_across_time_zones() -> None:
    """Due at 20:00 NZDT (07:00 UTC), completed at 07:30 UTC: late, although the text
    "07:30" sorts before "20:00"."""
    from datetime import timezone

    model = ReadModel()
    case = household(model, "HH-1", "Gore", children=1)
    task_id = uuid4()
    nzdt = timezone(timedelta(hours=13))
    model.apply(
        SupportTaskOpened(
            **env(),
            task_id=task_id,
            case_id=case,
            kind="child_safety_check",
            lead_agency="oranga_tamariki",
            due_at=datetime(2026, 3, 1, 20, 0, tzinfo=nzdt),
            playbook="national@v1",
            rule_id="r",
        )
    )
    change(model, task_id, "completed", "completed", datetime(2026, 3, 1, 7, 30, tzinfo=UTC))
    assert model.hold_summary(OP, AT + timedelta(days=1))["completed_within_due_time"] == 0
