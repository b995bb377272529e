"""Driving build through the front door, as its people would: each with their own token."""

from __future__ import annotations

from typing import Any

from services.api.identity import Identity
from tests.support.system import InProcessSystem, bearer, eventually

START = "2026-03-01T05:00:00+13:00"


def person(subject: str, role: str, agency: str, *, places: tuple[str, ...] = ()) -> dict[str, str]:
    """The Authorization header of one person (``subject``), so that two people of the same
    agency and role are two people."""
    return bearer(Identity(subject, role, agency, places=places))


CHAIR = person("lg-chair-1", "leadership_group_chair", "iwi")
POLICE_MEMBER = person("lg-police-1", "leadership_group_member", "police")
MSD_MEMBER = person("lg-msd-1", "leadership_group_member", "msd")


async def concluded_in(system: InProcessSystem, place: str) -> str:
    """An operation planned, launched and concluded in ``place`` by the local planner."""
    planned = await system.api.post(
        "/operations",
        json={
            "name": "Operation Pakari",
            "district": "Southland",
            "place": place,
            "target_group": "gang supply network",
            "planned_start": START,
        },
    )
    assert planned.status_code == 201, planned.text
    op: str = planned.json()["operation_id"]
    assert (await system.api.post(f"/operations/{op}/launch")).status_code == 200
    assert (await system.api.post(f"/operations/{op}/conclude")).status_code == 200
    return op


async def the_plan(system: InProcessSystem, place: str) -> dict[str, Any] | None:
    response = await system.api.get(f"/plans/{place}", headers=CHAIR)
    return response.json() if response.status_code == 200 else None


async def plan_opened(system: InProcessSystem, place: str) -> dict[str, Any]:
    """The place's plan, opened by an operation concluded there, with its four milestones."""
    await concluded_in(system, place)
    plan = await eventually(
        lambda: the_plan(system, place),
        lambda p: p is not None and len(p["milestones"]) == 4,
        what=f"the plan for {place}",
    )
    assert plan is not None
    return plan


async def registered_programme(
    system: InProcessSystem, place: str, provider: str, name: str = "Rangatahi mentoring"
) -> str:
    registered = await system.api.post(
        "/programmes",
        headers=CHAIR,
        json={
            "name": name,
            "provider": provider,
            "place": place,
            "focus_area": "rangatahi_pathway",
            "funding_source": "CRWS fund",
            "agreement_kind": "outcome_agreement",
        },
    )
    assert registered.status_code == 201, registered.text
    programme_id: str = registered.json()["programme_id"]
    return programme_id


async def commissioned(
    system: InProcessSystem, programme_id: str, amount: str, decision: str = "approved"
) -> dict[str, Any]:
    """Three panel members vote, each with their own token; the chair records the decision."""
    choice = {"decision": decision, "amount": amount}
    for member in (CHAIR, POLICE_MEMBER, MSD_MEMBER):
        voted = await system.api.post(
            f"/programmes/{programme_id}/panel-votes", headers=member, json=choice
        )
        assert voted.status_code == 200, voted.text
    decided = await system.api.post(
        f"/programmes/{programme_id}/panel-decisions", headers=CHAIR, json=choice
    )
    assert decided.status_code == 200, decided.text
    result: dict[str, Any] = decided.json()
    return result
