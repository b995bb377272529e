"""A place's plan moves from Hold to Build only on the chair's recorded decision, once the
leadership group's members have each signed off themselves; milestones take check-ins from
their owner agency or the leadership group, and escalate, once each step, when overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.build.domain import (
    BUILD,
    HOLD,
    GateEvidenceMissing,
    GateSignOffMissing,
    Milestone,
    PlanRuleBroken,
    ResiliencePlan,
)
from services.runtime.authorization import Caller, NotFound, NotPermitted
from services.runtime.dead_letters import NIL
from services.runtime.meta import Actor, Meta

pytestmark = pytest.mark.domain

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
CHAIR = Caller("m-1", "leadership_group_chair", "iwi")
POLICE = Caller("m-2", "leadership_group_member", "police")
MSD = Caller("m-3", "leadership_group_member", "msd")
EVIDENCE = ["wastewater meth load down 50% since March"]


def meta(who: Caller = CHAIR, at: datetime = AT) -> Meta:
    """What build records of a command: the person from the token, and when."""
    return Meta(at, uuid4(), Actor(who.subject, who.agency, who.role))


def plan() -> ResiliencePlan:
    return ResiliencePlan(place="Ōpōtiki", meta=meta())


def signed(p: ResiliencePlan, *people: Caller) -> ResiliencePlan:
    for person in people:
        p.sign_off_gate(person, meta(person))
    return p


def test_each_member_signs_off_themselves_and_the_same_person_twice_counts_once() -> None:
    """A sign-off is an event whose person is the caller; signing off again records nothing."""
    p = plan()
    assert p.sign_off_gate(POLICE, meta(POLICE)) is True
    assert p.sign_off_gate(POLICE, meta(POLICE, AT + timedelta(hours=1))) is False
    assert p.sign_off_gate(MSD, meta(MSD)) is True
    events = [e for e in p.collect_events() if isinstance(e, ResiliencePlan.GateSignedOff)]
    assert [e.meta.actor.id for e in events] == ["m-2", "m-3"]
    assert list(p.sign_offs) == ["m-2", "m-3"]
    assert p.sign_offs["m-2"] == {
        "id": "m-2",
        "agency": "police",
        "role": "leadership_group_member",
        "at": AT.isoformat(),
    }


def test_the_chair_alone_cannot_move_the_plan_without_the_members_sign_offs() -> None:
    """Today's row 13: the chair deciding with nobody else signed off is refused, naming the
    agencies missing, whatever evidence is given; the plan stays in Hold."""
    p = plan()
    with pytest.raises(GateSignOffMissing) as refused:
        p.decide_gate(CHAIR, EVIDENCE, meta())
    assert "at least 3 agencies (have 1: iwi)" in str(refused.value)
    assert p.phase == HOLD


def test_the_refusal_names_every_missing_sign_off() -> None:
    """A chair of police deciding on police's and msd's sign-offs: two agencies, no iwi."""
    police_chair = Caller("m-9", "leadership_group_chair", "police")
    p = signed(plan(), POLICE, MSD)
    with pytest.raises(GateSignOffMissing) as refused:
        p.decide_gate(police_chair, EVIDENCE, meta(police_chair))
    message = str(refused.value)
    assert "at least 3 agencies (have 2: msd, police)" in message
    assert "an iwi member's sign-off" in message
    assert p.phase == HOLD


@pytest.mark.parametrize("evidence", [[], ["."], ["   "], ["n/a"], [EVIDENCE[0], "-"]])
def test_evidence_must_say_something(evidence: list[str]) -> None:
    """No evidence, or an item without a few letters or digits after trimming, is refused
    even with every sign-off in place."""
    p = signed(plan(), POLICE, MSD)
    with pytest.raises(GateEvidenceMissing, match="evidence"):
        p.decide_gate(CHAIR, evidence, meta())
    assert p.phase == HOLD


def test_a_signed_off_gate_moves_the_plan_to_build_recording_who_signed_when_and_why() -> None:
    """The decision lists the people whose own sign-offs were recorded (the deciding chair
    counts by deciding), the evidence trimmed, and the chair; after it nothing more is signed
    off or decided."""
    p = signed(plan(), POLICE)
    p.sign_off_gate(MSD, meta(MSD, AT + timedelta(minutes=5)))
    decided_at = AT + timedelta(hours=1)
    p.decide_gate(CHAIR, [f"  {EVIDENCE[0]} "], meta(CHAIR, decided_at))
    assert p.phase == BUILD
    assert p.gate is not None
    assert [(s["id"], s["agency"]) for s in p.gate["signed_off_by"]] == [
        ("m-2", "police"),
        ("m-3", "msd"),
        ("m-1", "iwi"),
    ]
    assert p.gate["evidence"] == EVIDENCE
    assert p.gate["decided_at"] == decided_at.isoformat()
    assert p.gate["decided_by"] == {
        "id": "m-1",
        "agency": "iwi",
        "role": "leadership_group_chair",
        "at": decided_at.isoformat(),
    }
    with pytest.raises(PlanRuleBroken, match="already in build"):
        p.decide_gate(CHAIR, EVIDENCE, meta())
    with pytest.raises(PlanRuleBroken, match="already in build"):
        p.sign_off_gate(Caller("m-4", "leadership_group_member", "health_nz"), meta())


def test_only_the_leadership_group_signs_off_and_only_the_chair_decides() -> None:
    """An agency's worker or lead may not sign off, nor may the administrator (a sign-off is
    a person's own); a member may sign off but not decide."""
    p = plan()
    for role in ("agency_worker", "agency_lead", "administrator", "auditor"):
        with pytest.raises(NotPermitted, match="signs off the move to Build themselves"):
            p.sign_off_gate(Caller("x-1", role, "iwi"), meta())
    p = signed(p, POLICE, MSD, Caller("m-5", "leadership_group_member", "iwi"))
    with pytest.raises(NotPermitted, match="only the leadership group's chair"):
        p.decide_gate(MSD, EVIDENCE, meta(MSD))
    assert p.phase == HOLD


def test_a_plan_outside_the_tokens_places_is_not_found() -> None:
    """A member limited to Gore neither signs off nor decides Ōpōtiki's move: not found, as
    an unknown place is; the same member limited to Ōpōtiki may."""
    p = plan()
    gore = Caller("m-2", "leadership_group_member", "police", places=("Gore",))
    with pytest.raises(NotFound, match="no resilience plan for Ōpōtiki"):
        p.sign_off_gate(gore, meta(gore))
    operation_only = Caller("m-2", "leadership_group_member", "police", operations=("op",))
    with pytest.raises(NotFound):
        p.sign_off_gate(operation_only, meta(operation_only))
    local = Caller("m-2", "leadership_group_member", "police", places=("ōpōtiki",))
    assert p.sign_off_gate(local, meta(local)) is True


def milestone(due: datetime, owner: str = "msd", operation_id: UUID = NIL) -> Milestone:
    return Milestone(
        plan_id=uuid4(),
        operation_id=operation_id,
        place="Ōpōtiki",
        label="Rangatahi mentoring running",
        days_after_conclusion=0,
        owner_agency=owner,
        due_at=due,
        meta=meta(),
    )


MSD_WORKER = Caller("w-1", "agency_worker", "msd")


def test_check_ins_record_status_note_and_evidence_and_met_is_final() -> None:
    m = milestone(AT + timedelta(days=30))
    m.check_in(MSD_WORKER, "at_risk", "provider not yet contracted", None, meta(MSD_WORKER))
    m.check_in(CHAIR, "met", "12 rangatahi enrolled", "https://example.org/report.pdf", meta())
    assert m.status == "met" and [c["status"] for c in m.check_ins] == ["at_risk", "met"]
    with pytest.raises(PlanRuleBroken):
        m.check_in(CHAIR, "on_track", "late", None, meta())
    with pytest.raises(PlanRuleBroken):
        milestone(AT).check_in(CHAIR, "done", "x", None, meta())


def test_a_milestone_is_checked_in_by_its_owner_agency_or_the_leadership_group() -> None:
    """Today's row 3: a worker or lead of another agency (or of none that exists) checking in
    msd's milestone "met" is refused and the milestone is unchanged, so its escalation goes on;
    msd's own staff and any leadership-group member may."""
    m = milestone(AT)
    for outsider in (
        Caller("w-2", "agency_worker", "oranga_tamariki"),
        Caller("l-2", "agency_lead", "ministry_of_magic"),
        Caller("a-1", "administrator", "chb"),
    ):
        with pytest.raises(NotPermitted, match="owner agency or the leadership group"):
            m.check_in(outsider, "met", "all done", None, meta(outsider))
    assert m.status == "scheduled" and m.next_deadline() is not None
    m.check_in(Caller("l-1", "agency_lead", "msd"), "at_risk", "slow start", None, meta())
    m.check_in(POLICE, "on_track", "provider found", None, meta(POLICE))
    assert m.status == "on_track"


def test_a_milestone_outside_the_tokens_scope_is_not_found() -> None:
    """Its owner's worker limited to Gore, or to an operation it is not part of, gets "no
    milestone <id>", the answer to an unknown id."""
    m = milestone(AT, operation_id=uuid4())
    for scoped in (
        Caller("w-1", "agency_worker", "msd", places=("Gore",)),
        Caller("w-1", "agency_worker", "msd", operations=(str(uuid4()),)),
    ):
        with pytest.raises(NotFound) as hidden:
            m.check_in(scoped, "met", "done", None, meta(scoped))
        assert str(hidden.value) == f"no milestone {m.id}"
    inside = Caller("w-1", "agency_worker", "msd", operations=(str(m.operation_id),))
    m.check_in(inside, "on_track", "fine", None, meta(inside))


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
    met.check_in(CHAIR, "met", "done", None, meta())
    assert met.fire_deadlines(due + timedelta(days=90), meta()) == 0
    assert met.next_deadline() is None
