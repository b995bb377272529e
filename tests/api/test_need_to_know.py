"""Need-to-know: a planned operation is its planning cell's alone, and a token limited to
places or operations sees and changes nothing outside them (against the running API)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from services.api.identity import Identity
from services.runtime.authorization import operation_visible
from tests.support.flows import START, arrest, plan_and_launch
from tests.support.system import InProcessSystem, eventually, signed

OPERATION = {
    "name": "Operation Pakari",
    "district": "Southland",
    "target_group": "supply",
    "planned_start": START,
}


PLANNER = signed("planner", "police")
WORKER = signed("agency_worker", "oranga_tamariki")
AUDITOR = signed("auditor", "oversight")


async def plan(system: InProcessSystem, place: str = "Mataura", headers: Any = None) -> Any:
    return await system.api.post(
        "/operations", json={**OPERATION, "place": place}, headers=headers or PLANNER
    )


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["operation_id"] for item in response.json()}


@pytest.mark.domain
def test_a_planned_operation_is_seen_by_its_planning_cell_auditors_and_the_administrator() -> None:
    """Every role at Police and at MSD against a planned operation in Mataura: seen by the
    police planning cell, auditors and the administrator only; once launched, by everyone; a
    token limited to another operation or place never sees it."""
    sees_planned = {
        ("police", "administrator"): True,
        ("police", "planner"): True,
        ("police", "operation_commander"): True,
        ("police", "agency_worker"): False,
        ("police", "agency_lead"): False,
        ("police", "leadership_group_member"): False,
        ("police", "leadership_group_chair"): False,
        ("police", "auditor"): True,
        ("police", "public"): False,
        ("msd", "administrator"): True,
        ("msd", "planner"): False,
        ("msd", "operation_commander"): False,
        ("msd", "agency_worker"): False,
        ("msd", "agency_lead"): False,
        ("msd", "leadership_group_member"): False,
        ("msd", "leadership_group_chair"): False,
        ("msd", "auditor"): True,
        ("msd", "public"): False,
    }
    op = str(uuid4())
    for (agency, role), expected in sees_planned.items():
        who = Identity("p", role, agency)
        assert operation_visible(who, "planned", "Mataura", op) is expected, (agency, role)
        assert operation_visible(who, "launched", "Mataura", op), (agency, role)
    elsewhere = Identity("p", "planner", "police", operations=(str(uuid4()),))
    assert not operation_visible(elsewhere, "launched", "Mataura", op)
    gore = Identity("p", "planner", "police", places=("Gore",))
    assert not operation_visible(gore, "planned", "Mataura", op)
    assert operation_visible(gore, "planned", "gore", op)


@pytest.mark.integration
async def test_a_planned_operation_is_seen_only_by_its_planning_cell(
    system: InProcessSystem,
) -> None:
    """Before launch an agency's worker neither lists the operation nor finds it by id (404,
    not 403: its existence is not revealed); the planning cell and an auditor do. Launched,
    everyone the matrix admits sees it."""
    response = await plan(system)
    assert response.status_code == 201, response.text
    op = response.json()["operation_id"]
    await eventually(lambda: system.api.get("/operations", headers=PLANNER), lambda r: op in ids(r))
    assert op in ids(await system.api.get("/operations", headers=AUDITOR))
    assert op not in ids(await system.api.get("/operations", headers=WORKER))
    hidden = await system.api.get(f"/operations/{op}", headers=WORKER)
    assert hidden.status_code == 404, hidden.text
    assert (await system.api.get(f"/operations/{op}", headers=PLANNER)).status_code == 200
    msd_lead = signed("leadership_group_chair", "msd")
    assert (await system.api.get(f"/operations/{op}/hold", headers=msd_lead)).status_code == 404

    assert (await system.api.post(f"/operations/{op}/launch", headers=PLANNER)).status_code == 200
    await eventually(lambda: system.api.get("/operations", headers=WORKER), lambda r: op in ids(r))
    assert (await system.api.get(f"/operations/{op}", headers=WORKER)).status_code == 200


@pytest.mark.integration
async def test_a_token_limited_to_places_or_operations_stays_inside_them(
    system: InProcessSystem,
) -> None:
    """A planner limited to Mataura plans there and is refused Gore (403, naming the scope);
    one limited to an operation records arrests in it and not in another; a worker limited
    to Mataura sees Mataura's tasks and cases only, and is refused a Gore task by id."""
    mataura = await plan_and_launch(system, "Mataura")
    gore = await plan_and_launch(system, "Gore")
    local = signed("planner", "police", places=("mataura",))
    assert (await plan(system, "Mataura", local)).status_code == 201
    refused = await plan(system, "Gore", local)
    assert refused.status_code == 403 and "place mataura" in refused.json()["detail"]

    one_op = signed("planner", "police", operations=(mataura,))
    details = {"person_ref": "P-9", "household_ref": "HH-9", "charges": ["supply"]}
    url = "/operations/{}/arrests"
    assert (await system.api.post(url.format(mataura), json=details, headers=one_op)).is_success
    other = await system.api.post(url.format(gore), json=details, headers=one_op)
    assert other.status_code == 404, other.text
    assert (await plan(system, "Mataura", one_op)).status_code == 403

    await arrest(system, gore, "P-1", "HH-1", [{"child_ref": "C-1", "age": 4}], only_carer=True)
    everything = await eventually(
        lambda: system.get("/tasks"),
        lambda tasks: {t["operation_id"] for t in tasks} == {mataura, gore},
        what="tasks in both places",
    )
    worker = signed("agency_worker", "oranga_tamariki", places=("Mataura",))
    seen = (await system.api.get("/tasks", headers=worker)).json()
    assert seen and {t["operation_id"] for t in seen} == {mataura}
    cases = (await system.api.get("/cases", headers=worker)).json()
    assert {c["place"] for c in cases} == {"Mataura"}
    gore_task = next(t for t in everything if t["operation_id"] == gore)
    assert (
        await system.api.get(f"/tasks/{gore_task['task_id']}", headers=worker)
    ).status_code == 404
    accept = await system.api.post(f"/tasks/{gore_task['task_id']}/accept", headers=worker)
    assert accept.status_code == 404, accept.text


async def test_a_token_limited_to_a_place_imports_indicators_for_that_place_only(
    system: InProcessSystem,
) -> None:
    """A leadership chair limited to Mataura may send Mataura's readings and is refused a chunk
    with another place's (403 naming it, nothing of the chunk taken); a token limited to
    operations may not start an import at all."""
    chair = signed("leadership_group_chair", "iwi", places=("Mataura",))
    started = await system.api.post(
        "/indicator-imports", json={"file_name": "loads.csv", "rows_expected": 2}, headers=chair
    )
    assert started.status_code == 201, started.text
    rows = f"/indicator-imports/{started.json()['import_id']}/rows"

    def reading(place: str) -> dict[str, str]:
        return {
            "place": place,
            "indicator": "wastewater_drug_load",
            "series": "meth",
            "period_start": "2026-01-01",
            "value": "120",
            "unit": "mg/1000 people/day",
        }

    mixed = await system.api.post(
        rows, json={"rows": [reading("Mataura"), reading("Gore")]}, headers=chair
    )
    assert mixed.status_code == 403 and "rows for Gore" in mixed.json()["detail"]
    ours = await system.api.post(
        rows, json={"rows": [reading("Mataura"), reading("mataura")]}, headers=chair
    )
    assert ours.status_code == 200, ours.text
    one_op = signed("leadership_group_chair", "iwi", operations=(str(uuid4()),))
    refused = await system.api.post(
        "/indicator-imports", json={"file_name": "x.csv", "rows_expected": 1}, headers=one_op
    )
    assert refused.status_code == 403
