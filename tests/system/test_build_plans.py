"""A place's plan through the front door: the gate, the group's milestones, check-ins, and an
overdue milestone escalated on simulated time (real NATS, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.runtime.clock import SimulatedClock
from services.runtime.settings import Settings
from tests.support.build_flows import CHAIR, MSD_MEMBER, POLICE_MEMBER, plan_opened, the_plan
from tests.support.system import AUDITOR, eventually, running_system

pytestmark = pytest.mark.integration


async def test_a_plan_moves_to_build_only_on_its_members_sign_offs_and_its_milestones_are_kept(
    settings: Settings,
) -> None:
    """The chair alone is refused (409 naming what is missing); once police's and msd's
    members have signed off, each with their own token, the chair's decision moves the plan
    to Build and records who signed off; the group's own milestone is checked in and
    escalates when overdue; the audit record shows the plan before and after."""
    clock = SimulatedClock(datetime.now(UTC))
    async with running_system(settings, clock=clock) as system:
        plan = await plan_opened(system, "Ōpōtiki")
        assert plan["phase"] == "hold" and plan["sign_offs"] == []

        evidence = {"evidence": ["wastewater meth load halved and stayed down"]}
        refused = await system.api.post("/plans/Ōpōtiki/gate", headers=CHAIR, json=evidence)
        assert refused.status_code == 409
        assert "at least 3 agencies (have 1: iwi)" in refused.json()["detail"]

        for member in (POLICE_MEMBER, MSD_MEMBER):
            signed = await system.api.post("/plans/Ōpōtiki/gate/sign-offs", headers=member)
            assert signed.status_code == 200, signed.text
        signed_off = await eventually(
            lambda: the_plan(system, "Ōpōtiki"),
            lambda p: p is not None and len(p["sign_offs"]) == 2,
            what="both sign-offs",
        )
        assert signed_off is not None
        assert [s["id"] for s in signed_off["sign_offs"]] == ["lg-police-1", "lg-msd-1"]

        moved = await system.api.post("/plans/ōpōtiki/gate", headers=CHAIR, json=evidence)
        assert moved.status_code == 200, moved.text
        plan = await eventually(
            lambda: the_plan(system, "Ōpōtiki"),
            lambda p: p is not None and p["phase"] == "build",
            what="build",
        )
        assert plan is not None
        assert [(s["id"], s["agency"]) for s in plan["gate"]["signed_off_by"]] == [
            ("lg-police-1", "police"),
            ("lg-msd-1", "msd"),
            ("lg-chair-1", "iwi"),
        ]
        assert plan["gate"]["recorded_by"]["id"] == "lg-chair-1"
        assert plan["gate"]["evidence"] == evidence["evidence"]

        due = (clock.now() + timedelta(days=14)).isoformat()
        added = await system.api.post(
            "/plans/Ōpōtiki/milestones",
            headers=CHAIR,
            json={"label": "Rangatahi mentoring contracted", "owner_agency": "msd", "due_at": due},
        )
        assert added.status_code == 201, added.text
        own = added.json()["milestone_id"]
        again = await system.api.post(
            "/plans/Ōpōtiki/milestones",
            headers=CHAIR,
            json={"label": "Rangatahi mentoring contracted", "owner_agency": "msd", "due_at": due},
        )
        assert again.status_code == 409

        checked = await system.api.post(
            f"/milestones/{own}/check-ins",
            headers=CHAIR,
            json={
                "status": "at_risk",
                "note": "provider not yet chosen",
                "evidence_link": "https://example.org/panel-minutes",
            },
        )
        assert checked.status_code == 200, checked.text

        clock.advance(timedelta(days=14 + 8))  # a week past due, not met
        milestones = await eventually(
            lambda: system.get("/milestones", as_=AUDITOR, place="Ōpōtiki"),
            lambda ms: any(m.get("escalation_level") for m in ms if m["milestone_id"] == own),
            what="the overdue milestone escalated",
        )
        mine = next(m for m in milestones if m["milestone_id"] == own)
        changes = [(h["change"], h["status"] or h["detail"].get("level")) for h in mine["history"]]
        assert changes == [("checked_in", "at_risk"), ("escalated", "owner_agency_lead")]

        # The plan as it stood at a moment: before the gate, and now (the place's own
        # milestone, a place-level item with no operation, with its check-in and escalation).
        entries = await system.get("/audit/timeline", as_=AUDITOR, place="Ōpōtiki")
        gate = next(e for e in entries if e["event_type"] == "PlanGateDecided")
        just_before = await system.as_(AUDITOR).get(
            "/audit/as-of",
            params={"at": _earlier(gate["recorded_at"]), "place": "ōpōtiki"},
        )
        assert just_before.json()["plan"]["phase"] == "hold"
        now = await system.get(
            "/audit/as-of", as_=AUDITOR, at=datetime.now(UTC).isoformat(), place="Ōpōtiki"
        )
        assert now["plan"]["phase"] == "build"
        place_own = next(m for m in now["place_milestones"] if m["milestone_id"] == own)
        assert place_own["history"] == mine["history"]


def _earlier(recorded_at: str) -> str:
    """A microsecond before a recorded time."""
    return (datetime.fromisoformat(recorded_at) - timedelta(microseconds=1)).isoformat()
