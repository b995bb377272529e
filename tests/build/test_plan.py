"""A place's plan moves from Hold to Build only on a recorded, signed-off gate decision;
milestones take check-ins and escalate, once each step, when overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.build.domain import (
    BUILD,
    HOLD,
    GateSignOffMissing,
    Milestone,
    PlanRuleBroken,
    ResiliencePlan,
)
from services.runtime.dead_letters import NIL
from services.runtime.meta import Actor, Meta

pytestmark = pytest.mark.domain

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
CHAIR = {"id": "m-1", "agency": "iwi", "role": "leadership_group_chair"}
POLICE = {"id": "m-2", "agency": "police", "role": "leadership_group_member"}
MSD = {"id": "m-3", "agency": "msd", "role": "leadership_group_member"}


def meta() -> Meta:
    return Meta(AT, uuid4(), Actor("m-1", "iwi", "leadership_group_chair"))


def plan() -> ResiliencePlan:
    return ResiliencePlan(place="Ōpōtiki", meta=meta())


def test_the_gate_is_refused_naming_every_missing_sign_off() -> None:
    """Without the chair, without three agencies, without iwi and without evidence, the
    refusal names all four, and the plan stays in Hold."""
    p = plan()
    with pytest.raises(GateSignOffMissing) as refused:
        p.decide_gate([POLICE, MSD], [], meta())
    message = str(refused.value)
    for needed in ("chair", "at least 3 agencies (have 2)", "iwi", "evidence"):
        assert needed in message
    assert p.phase == HOLD


def test_a_signed_off_gate_moves_the_plan_to_build_and_records_who_when_and_why() -> None:
    p = plan()
    p.decide_gate([CHAIR, POLICE, MSD], ["wastewater meth load down 50% since March"], meta())
    assert p.phase == BUILD
    assert p.gate is not None and p.gate["signed_off_by"] == [CHAIR, POLICE, MSD]
    assert p.gate["decided_at"] == AT.isoformat()
    with pytest.raises(PlanRuleBroken, match="already in build"):
        p.decide_gate([CHAIR, POLICE, MSD], ["again"], meta())


def milestone(due: datetime) -> Milestone:
    return Milestone(
        plan_id=uuid4(),
        operation_id=NIL,
        place="Ōpōtiki",
        label="Rangatahi mentoring running",
        days_after_conclusion=0,
        owner_agency="msd",
        due_at=due,
        meta=meta(),
    )


def test_check_ins_record_status_note_and_evidence_and_met_is_final() -> None:
    m = milestone(AT + timedelta(days=30))
    m.check_in("at_risk", "provider not yet contracted", None, meta())
    m.check_in("met", "12 rangatahi enrolled", "https://example.org/report.pdf", meta())
    assert m.status == "met" and [c["status"] for c in m.check_ins] == ["at_risk", "met"]
    with pytest.raises(PlanRuleBroken):
        m.check_in("on_track", "late", None, meta())
    with pytest.raises(PlanRuleBroken):
        milestone(AT).check_in("done", "x", None, meta())


def test_an_overdue_milestone_escalates_a_week_then_a_month_late_once_each() -> None:
    """Not met by its due date: its owner agency's lead hears after 7 days, the chair after
    30; each step once, however often asked; a met milestone never escalates."""
    due = AT
    m = milestone(due)
    assert m.fire_deadlines(due + timedelta(days=6), meta()) == 0
    assert m.fire_deadlines(due + timedelta(days=7), meta()) == 1
    assert m.fire_deadlines(due + timedelta(days=40), meta()) == 1
    assert m.fire_deadlines(due + timedelta(days=90), meta()) == 0
    levels = [e.level for e in m.collect_events() if isinstance(e, Milestone.Escalated)]
    assert levels == ["owner_agency_lead", "leadership_group_chair"]
    met = milestone(due)
    met.check_in("met", "done", None, meta())
    assert met.fire_deadlines(due + timedelta(days=90), meta()) == 0
    assert met.next_deadline() is None
