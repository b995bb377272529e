"""What an arrest sets in motion for the household, and how a task's due time may change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.hold.domain import SupportTask, WhanauCase
from services.hold.domain.rules import tasks_for
from services.hold.playbook import Facts
from services.runtime.meta import SERVICE_ACTORS, Meta
from tests.support.playbook_facts import hold_tests_playbook
from tests.support.tasks import new_task

pytestmark = pytest.mark.domain

ARRESTED_AT = datetime(2026, 3, 1, 5, 30, tzinfo=UTC)


def due(children: int, only_carer_present: bool) -> dict[str, tuple[str, datetime]]:
    return {
        t.kind: (t.lead_agency, t.due_at)
        for t in tasks_for(
            Facts("arrest", (5,) * children, only_carer_present), ARRESTED_AT, hold_tests_playbook()
        )
    }


def meta() -> Meta:
    return Meta(occurred_at=ARRESTED_AT, operation_id=uuid4(), actor=SERVICE_ACTORS["hold"])


def test_children_with_only_carer_arrested_need_a_safety_check_within_two_hours() -> None:
    """Children whose only carer present was arrested: Oranga Tamariki checks on them within
    2 hours of the arrest; Police family liaison within 4 hours; an iwi provider's needs
    assessment within 72 hours."""
    assert due(children=2, only_carer_present=True) == {
        "child_safety_check": ("oranga_tamariki", ARRESTED_AT + timedelta(hours=2)),
        "family_liaison_contact": ("police", ARRESTED_AT + timedelta(hours=4)),
        "needs_assessment": ("iwi_provider", ARRESTED_AT + timedelta(hours=72)),
    }


def test_children_with_another_carer_present_get_a_safety_check_within_a_day() -> None:
    """When another carer is present the child safety check is due within 24 hours."""
    tasks = due(children=1, only_carer_present=False)
    assert tasks["child_safety_check"] == ("oranga_tamariki", ARRESTED_AT + timedelta(hours=24))
    assert tasks["family_liaison_contact"] == ("police", ARRESTED_AT + timedelta(hours=4))


@pytest.mark.parametrize("only_carer_present", [False, True])
def test_no_children_means_no_child_safety_check(only_carer_present: bool) -> None:
    """Without children there is no child safety check; family liaison is due within 24 hours
    and the needs assessment within 72."""
    assert due(children=0, only_carer_present=only_carer_present) == {
        "family_liaison_contact": ("police", ARRESTED_AT + timedelta(hours=24)),
        "needs_assessment": ("iwi_provider", ARRESTED_AT + timedelta(hours=72)),
    }


def test_a_task_is_only_ever_brought_forward() -> None:
    """bring_forward records a Rescheduled event for an earlier time, nothing for a later or
    equal one."""
    m = meta()
    task = new_task(due_at=ARRESTED_AT + timedelta(hours=24), meta=m)
    task.collect_events()
    task.bring_forward(ARRESTED_AT + timedelta(hours=30), m)
    task.bring_forward(ARRESTED_AT + timedelta(hours=24), m)
    assert task.collect_events() == []
    task.bring_forward(ARRESTED_AT + timedelta(hours=4), m)
    (event,) = task.collect_events()
    assert isinstance(event, SupportTask.Rescheduled)
    assert task.due_at == ARRESTED_AT + timedelta(hours=4)


def test_a_case_counts_distinct_children_across_arrests() -> None:
    """Two carers of the same children linked to one case: children_total counts each child
    once, and linking the same arrest again records nothing. The case keeps each child's
    reference and the arrest's ages only as the sealed text they came in, never an age."""
    m = meta()
    case = WhanauCase(
        operation_id=m.operation_id, household_ref="household-1", place="Gore", meta=m
    )
    first, second = uuid4(), uuid4()
    sealed = "chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk"
    case.link_arrest(first, [{"child_ref": "c1"}, {"child_ref": "c2"}], sealed, True, m)
    # A child given with an age (a caller of the domain, not the contract) loses it here.
    case.link_arrest(second, [{"child_ref": "c2"}, {"child_ref": "c3", "age": 1}], None, False, m)
    case.link_arrest(first, [{"child_ref": "c1"}], sealed, True, m)
    linked = [e for e in case.collect_events() if isinstance(e, WhanauCase.ArrestLinked)]
    assert [vars(e)["children_total"] for e in linked] == [2, 3]
    assert [vars(e)["ages"] for e in linked] == [sealed, None]
    assert linked[1].children == [{"child_ref": "c2"}, {"child_ref": "c3"}]
    assert case.arrest_ids == [first, second]


def test_case_ids_are_per_household_per_operation() -> None:
    """The same household in the same operation is one case; in another operation, another."""
    op_a, op_b = uuid4(), uuid4()
    assert WhanauCase.create_id(op_a, "h1") == WhanauCase.create_id(op_a, "h1")
    assert WhanauCase.create_id(op_a, "h1") != WhanauCase.create_id(op_b, "h1")
    assert WhanauCase.create_id(op_a, "h1") != WhanauCase.create_id(op_a, "h2")
