"""A place's plan through the front door: the gate, the group's milestones, check-ins, and an
overdue milestone escalated on simulated time (real NATS, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.runtime.clock import SimulatedClock
from services.runtime.settings import Settings
from tests.system.support import AUDITOR, eventually, running_system
from tests.system.support import CHAIR as AS_CHAIR
from tests.system.test_pipeline import plan_and_launch

pytestmark = pytest.mark.integration

CHAIR = {"id": "m-1", "agency": "iwi", "role": "leadership_group_chair"}
POLICE = {"id": "m-2", "agency": "police", "role": "leadership_group_member"}
MSD = {"id": "m-3", "agency": "msd", "role": "leadership_group_member"}


async def test_a_plan_moves_to_build_only_on_a_signed_off_gate_and_its_milestones_are_kept(
    settings: Settings,
) -> None:
    clock = SimulatedClock(datetime.now(UTC))
    async with running_system(settings, clock=clock) as system:
        op = await plan_and_launch(system, place="Ōpōtiki")
        assert (await system.api.post(f"/operations/{op}/conclude")).status_code == 200

        async def the_plan() -> dict[str, Any] | None:
            response = await system.api.get("/plans/Ōpōtiki")
            return response.json() if response.status_code == 200 else None

        plan = await eventually(
            the_plan, lambda p: p is not None and len(p["milestones"]) == 4, what="the plan"
        )
        assert plan is not None
        assert plan["phase"] == "hold"

        refused = await system.as_(AS_CHAIR).post(
            "/plans/Ōpōtiki/gate", json={"signed_off_by": [POLICE], "evidence": []}
        )
        assert refused.status_code == 409
        assert "chair" in refused.json()["detail"] and "iwi" in refused.json()["detail"]

        moved = await system.as_(AS_CHAIR).post(
            "/plans/ōpōtiki/gate",
            json={
                "signed_off_by": [CHAIR, POLICE, MSD],
                "evidence": ["wastewater meth load halved and stayed down"],
            },
            headers={
                "X-Actor-Id": "m-1",
                "X-Actor-Agency": "iwi",
                "X-Actor-Role": "leadership_group_chair",
            },
        )
        assert moved.status_code == 200, moved.text
        plan = await eventually(
            the_plan, lambda p: p is not None and p["phase"] == "build", what="build"
        )
        assert plan is not None and plan["gate"]["signed_off_by"] == [CHAIR, POLICE, MSD]
        assert plan["gate"]["recorded_by"]["role"] == "leadership_group_chair"

        due = (clock.now() + timedelta(days=14)).isoformat()
        added = await system.as_(AS_CHAIR).post(
            "/plans/Ōpōtiki/milestones",
            json={"label": "Rangatahi mentoring contracted", "owner_agency": "msd", "due_at": due},
        )
        assert added.status_code == 201, added.text
        own = added.json()["milestone_id"]
        again = await system.as_(AS_CHAIR).post(
            "/plans/Ōpōtiki/milestones",
            json={"label": "Rangatahi mentoring contracted", "owner_agency": "msd", "due_at": due},
        )
        assert again.status_code == 409

        checked = await system.as_(AS_CHAIR).post(
            f"/milestones/{own}/check-ins",
            json={
                "status": "at_risk",
                "note": "provider not yet chosen",
                "evidence_link": "https://example.org/panel-minutes",
            },
        )
        assert checked.status_code == 200, checked.text

        clock.advance(timedelta(days=14 + 8))  # a week past due, not met
        milestones = await eventually(
            lambda: system.get("/milestones", place="Ōpōtiki"),
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
