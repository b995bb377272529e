"""What the partner agencies' tries found getting through, each refused now: a replay by a
token of another role, blank reasons, an over-long agency, a family's details after an
agency's part has ended, free text that named people, and commands that reach a service by
another path than the front door."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest

from contracts.commands import (
    ChangeTask,
    EraseHousehold,
    LaunchOperation,
    RecordArrest,
    RecordPersonalRead,
)
from services.api.identity import Identity, issue_token
from services.runtime.settings import Settings
from tests.conftest import TEST_JWT_KEY
from tests.support.build_flows import commissioned, plan_opened, registered_programme
from tests.support.nats_users import every_message
from tests.support.stores import stored_bytes
from tests.support.system import InProcessSystem, bearer, eventually, running_system
from tests.support.world import World, arrest_of

pytestmark = pytest.mark.integration

CHAIR = Identity("person-7", "leadership_group_chair", "iwi")
PUBLIC_SAME_PERSON = Identity("person-7", "public", "iwi")
OT_WORKER = Identity("ot-1", "agency_worker", "oranga_tamariki")
MSD_WORKER = Identity("msd-1", "agency_worker", "msd")
AUDITOR = Identity("aud-1", "auditor", "oversight")
REASON = {"reason": "planning tonight's visit"}


async def world_with(system: InProcessSystem, *households: str) -> World:
    world = World(system)
    await world.plan("L", "Mataura", launch=True)
    await world.plan("P", "Mataura", launch=False)
    for household in households:
        await world.arrest("L", household)
    await world.settle(list(households))
    return world


async def test_a_replay_is_for_the_same_whole_caller_and_only_after_the_door(
    system: InProcessSystem,
) -> None:
    """The chair's erasure, replayed with the chair's Idempotency-Key by a public token with the
    same subject, is refused by the door (403), not answered from the chair's first answer;
    the chair's own retry is answered again."""
    await world_with(system, "HH-1")
    body = {"reason": "privacy request PR-2026-0042"}
    key = {"Idempotency-Key": "erase-HH-1"}
    first = await system.api.post(
        "/households/HH-1/erasure", json=body, headers={**bearer(CHAIR), **key}
    )
    assert first.status_code == 200, first.text
    replayed = await system.api.post(
        "/households/HH-1/erasure", json=body, headers={**bearer(PUBLIC_SAME_PERSON), **key}
    )
    assert replayed.status_code == 403, replayed.text
    assert "idempotent-replayed" not in replayed.headers
    chair_limited = Identity("person-7", "leadership_group_chair", "iwi", places=("Mataura",))
    again = await system.api.post(
        "/households/HH-1/erasure", json=body, headers={**bearer(chair_limited), **key}
    )
    assert "idempotent-replayed" not in again.headers, "another scope is another caller"
    retried = await system.api.post(
        "/households/HH-1/erasure", json=body, headers={**bearer(CHAIR), **key}
    )
    assert retried.headers["idempotent-replayed"] == "true"


async def test_a_required_reason_must_say_something(system: InProcessSystem) -> None:
    """Ten spaces are not a reason for an erasure, nor five for reading a family's record,
    nor "other" with no words for a decline (422 naming the field)."""
    world = await world_with(system, "HH-1")
    blank = await system.api.post(
        "/households/HH-1/erasure", json={"reason": " " * 10}, headers=bearer(CHAIR)
    )
    assert blank.status_code == 422 and "reason" in blank.text
    case = world.cases["HH-1"]["case_id"]
    spaces = await system.api.get(
        f"/cases/{case}/personal", params={"reason": " " * 5}, headers=bearer(AUDITOR)
    )
    assert spaces.status_code == 422 and spaces.json()["errors"][0]["field"] == "reason"
    task = world.task("HH-1", "child_safety_check")
    other = await system.api.post(
        f"/tasks/{task}/decline",
        json={"reason_code": "other", "reason": "   "},
        headers=bearer(OT_WORKER),
    )
    assert other.status_code == 422, other.text
    nothing = await system.api.post(f"/tasks/{task}/decline", headers=bearer(OT_WORKER))
    assert nothing.status_code == 422 and "reason_code" in nothing.text


async def test_a_token_whose_agency_is_not_a_code_is_refused_not_failed(
    system: InProcessSystem,
) -> None:
    """An agency of 65 characters, or one with spaces, is a 401 with the reason, never a 500."""
    for agency in ("a" * 65, "Oranga Tamariki"):
        token = issue_token(TEST_JWT_KEY, "chb", Identity("x-1", "planner", agency))
        response = await system.api.post(
            "/operations", json={}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, response.text
        assert "agency" in response.json()["detail"]


@pytest.fixture
async def no_window(api_settings: Settings) -> AsyncIterator[InProcessSystem]:
    """A system whose agencies may read a household's details only while they hold one of its
    tasks: the window after their part ends is nothing."""
    async with running_system(api_settings.model_copy(update={"personal_details_days": 0})) as s:
        yield s


async def test_an_agency_reads_a_family_from_acceptance_until_its_part_ends(
    no_window: InProcessSystem,
) -> None:
    """Offered only: refused; accepted: allowed; its task finished and the window over:
    refused again, at the front door and by Hold itself."""
    world = await world_with(no_window, "HH-1")
    case = world.cases["HH-1"]["case_id"]
    task = world.task("HH-1", "child_safety_check")

    async def read() -> int:
        response = await no_window.api.get(
            f"/cases/{case}/personal", params=REASON, headers=bearer(OT_WORKER)
        )
        return response.status_code

    assert await read() == 403
    await world.step(OT_WORKER, "HH-1", "child_safety_check", "accept")
    assert await read() == 200
    await world.step(
        OT_WORKER,
        "HH-1",
        "child_safety_check",
        ("assign", {"worker_ref": "W-1"}),
        "start",
        ("complete", {"outcome": "children safe with their aunt"}),
    )
    assert await read() == 403
    door = no_window.app.state.door
    behind_the_door = await door.send(
        "hold",
        "record_personal_read",
        RecordPersonalRead(case_id=UUID(case), actor=OT_WORKER.actor, reason="just looking"),
    )
    assert behind_the_door.status == 403, behind_the_door
    assert (await world.task_now(task))["status"] == "completed"


async def test_a_command_that_goes_around_the_front_door_is_refused_by_the_service(
    system: InProcessSystem,
) -> None:
    """Sent straight to the owning service over NATS, as another client could: an MSD worker
    accepting Oranga Tamariki's task, an agency offered a task reading the family, Oranga
    Tamariki's planner launching Police's planned operation, a planner limited to Gore
    arresting in Mataura, a chair limited to Gore erasing a Mataura household: each refused by
    the aggregate itself, a hidden item as unknown."""
    world = await world_with(system, "HH-1")
    door = system.app.state.door
    task = UUID(world.task("HH-1", "child_safety_check"))
    case = UUID(world.cases["HH-1"]["case_id"])
    planned, launched = UUID(world.operations["P"]), UUID(world.operations["L"])
    gore_planner = Identity("g-1", "planner", "police", places=("Gore",))
    gore_chair = Identity("g-2", "leadership_group_chair", "iwi", places=("Gore",))
    ot_planner = Identity("p-2", "planner", "oranga_tamariki")
    sent: list[tuple[str, str, Any, int]] = [
        (
            "hold",
            "change_task",
            ChangeTask(task_id=task, action="accept", actor=MSD_WORKER.actor),
            403,
        ),
        (
            "hold",
            "record_personal_read",
            RecordPersonalRead(case_id=case, actor=OT_WORKER.actor, reason="just looking"),
            403,
        ),
        (
            "clear",
            "launch_operation",
            LaunchOperation(operation_id=planned, actor=ot_planner.actor),
            404,
        ),
        (
            "clear",
            "record_arrest",
            RecordArrest(
                operation_id=launched,
                **arrest_of("HH-2", "P-2") | {"children": []},
                actor=gore_planner.actor,
            ),
            404,
        ),
        (
            "hold",
            "erase_household",
            EraseHousehold(
                household_ref="HH-1", actor=gore_chair.actor, reason="privacy request PR-1"
            ),
            404,
        ),
    ]
    for service, name, command, status in sent:
        reply = await door.send(service, name, command)
        assert reply.status == status, (name, reply)
    assert (await world.task_now(str(task)))["status"] == "offered"


async def test_reasons_and_outcomes_in_words_travel_and_rest_only_sealed(
    system: InProcessSystem, api_settings: Settings
) -> None:
    """A decline's, a close's and an override's words and a completion's outcome may name
    someone: no stream, store, task history or figure shows them; the figures count the codes;
    the agency holding the task reads them through the household's case."""
    world = await world_with(system, "HH-1", "HH-2")
    name = "Mere Canary-Tane"
    iwi = Identity("iwi-1", "agency_worker", "iwi_provider")
    await world.step(
        OT_WORKER,
        "HH-1",
        "child_safety_check",
        ("decline", {"reason_code": "other", "reason": f"{name} is our own staff member's aunt"}),
    )
    await world.step(
        iwi,
        "HH-2",
        "needs_assessment",
        "accept",
        ("assign", {"worker_ref": "NAV-1"}),
        "start",
        (
            "consent",
            {
                "referral_agency": "health_nz",
                "consent": "override",
                "override_role": "agency_lead",
                "reason": f"{name} at risk",
            },
        ),
        (
            "complete",
            {"outcome": f"{name} referred to AOD treatment", "referral_agency": "health_nz"},
        ),
    )
    await world.step(
        iwi,
        "HH-1",
        "needs_assessment",
        "accept",
        ("close", {"reason_code": "moved_away", "reason": f"{name} moved to Gore"}),
    )
    figures = await eventually(
        lambda: system.get(
            "/audit/figures", as_=bearer(AUDITOR), operation_id=world.operations["L"]
        ),
        lambda f: f["declines_by_reason"] == {"other": 1},
        what="the decline counted by its code",
    )
    assert name not in str(figures)
    for task in await system.get("/tasks", as_=bearer(AUDITOR)):
        shown = await system.get(f"/tasks/{task['task_id']}", as_=bearer(AUDITOR))
        assert name not in str(shown)
    for _stream, _seq, subject, body, _headers in await every_message(api_settings):
        assert name.encode() not in body, subject
    assert name.encode() not in stored_bytes(api_settings.data_dir)
    case = world.cases["HH-2"]["case_id"]
    read = await system.api.get(f"/cases/{case}/personal", params=REASON, headers=bearer(iwi))
    assert read.status_code == 200, read.text
    texts = {(t["change"], t["field"]): t["text"] for t in read.json()["task_texts"]}
    assert texts[("completed", "outcome")] == f"{name} referred to AOD treatment"
    assert texts[("consent_recorded", "override_reason")] == f"{name} at risk"


async def test_a_check_in_note_or_a_result_note_rests_only_sealed_and_is_read_by_who_may(
    system: InProcessSystem, api_settings: Settings
) -> None:
    """A milestone's check-in note and a programme's result note may name people: sealed with
    the place's key before they go on, so no stream or store holds them readable; the
    leadership group, the owner agency and auditors read a check-in's note, other agencies see
    only that it exists."""
    name = "Hemi Canary"
    await plan_opened(system, "Mataura")
    added = await system.api.post(
        "/plans/Mataura/milestones",
        headers=bearer(Identity("chair-1", "leadership_group_chair", "iwi")),
        json={"label": "Benefit review", "owner_agency": "msd", "due_at": "2026-06-01T00:00:00Z"},
    )
    assert added.status_code == 201, added.text
    milestone_id = added.json()["milestone_id"]
    await eventually(
        lambda: system.get("/milestones", as_=bearer(AUDITOR)),
        lambda ms: any(m["milestone_id"] == milestone_id for m in ms),
    )
    checked = await system.api.post(
        f"/milestones/{milestone_id}/check-ins",
        headers=bearer(MSD_WORKER),
        json={"status": "at_risk", "note": f"{name} has not been reached"},
    )
    assert checked.status_code == 200, checked.text
    programme = await registered_programme(system, "Mataura", "iwi_provider")
    await commissioned(system, programme, "1000.00")
    lead = Identity("iwi-lead-1", "agency_lead", "iwi_provider")
    reported = await system.api.post(
        f"/programmes/{programme}/results",
        headers=bearer(lead),
        json={"period": "2026-Q2", "people_engaged": 3, "note": f"{name} took part"},
    )
    assert reported.status_code == 200, reported.text

    def note_of(plan: Any) -> Any:
        mine = next(m for m in plan["milestones"] if m["milestone_id"] == milestone_id)
        return [h["detail"]["note"] for h in mine["history"] if h["change"] == "checked_in"]

    seen = await eventually(
        lambda: system.get("/plans/Mataura", as_=bearer(MSD_WORKER)),
        lambda p: note_of(p) != [],
        what="the check-in",
    )
    assert note_of(seen) == [f"{name} has not been reached"]
    other = await system.get("/plans/Mataura", as_=bearer(OT_WORKER))
    assert name not in str(other) and note_of(other)[0]["withheld"]
    for _stream, _seq, subject, body, _headers in await every_message(api_settings):
        assert name.encode() not in body, subject
    assert name.encode() not in stored_bytes(api_settings.data_dir)
