"""Hold's tasks and playbooks through the front door, on real NATS and real stores."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.hold.playbook import national_playbook
from services.runtime.clock import SimulatedClock
from services.runtime.deadlines import DeadlineScheduler
from services.runtime.settings import Settings
from services.runtime.topology import stream_name
from tests.support.flows import arrest, plan_and_launch
from tests.support.nats_users import connect_as
from tests.support.system import CHAIR, InProcessSystem, caller, eventually, running_system

pytestmark = pytest.mark.integration


def as_agency(agency: str, role: str = "agency_worker") -> dict[str, str]:
    return caller(role, agency, f"{agency}-person-1")


CHAIR_ROLE = "leadership_group_chair"


async def act(
    system: InProcessSystem,
    task_id: str,
    action: str,
    agency: str,
    role: str = "agency_worker",
    **body: Any,
) -> dict[str, Any]:
    response = await system.api.post(
        f"/tasks/{task_id}/{action}", json=body or None, headers=as_agency(agency, role)
    )
    return {**response.json(), "http": response.status_code}


async def child_check(system: InProcessSystem, op: str) -> dict[str, Any]:
    tasks = await eventually(
        lambda: system.get("/tasks", operation_id=op),
        lambda t: any(x["kind"] == "child_safety_check" for x in t),
        what="child safety check",
    )
    task: dict[str, Any] = next(t for t in tasks if t["kind"] == "child_safety_check")
    return task


async def test_a_declined_task_goes_down_the_chain_then_to_the_leadership_group(
    settings: Settings,
) -> None:
    """Each agency in the chain declines with a reason; the task reaches the leadership group
    unplaced, is placed with another agency, and is worked to completion; its history shows
    every step with who did it and why."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 4}], only_carer=True)
        task = await child_check(system, op)
        assert (task["agency"], task["playbook"]) == ("oranga_tamariki", national_playbook().label)
        tid = task["task_id"]

        wrong = await act(system, tid, "accept", "police")
        assert wrong["http"] == 403 and "offered to" in wrong["detail"]
        for agency in ("oranga_tamariki", "iwi_provider", "police"):
            declined = await act(
                system, tid, "decline", agency, reason_code="other", reason=f"{agency} has no one"
            )
            assert declined["http"] == 200, declined
        assert declined["status"] == "unplaced" and declined["agency"] is None
        unplaced = await eventually(
            lambda: system.get(f"/tasks/{tid}"), lambda t: t["status"] == "unplaced"
        )
        assert unplaced["agency"] is None

        placed = await act(system, tid, "offer", "iwi", to_agency="msd", role=CHAIR_ROLE)
        assert placed["http"] == 200 and placed["agency"] == "msd"
        for action, body in (
            ("accept", {}),
            ("assign", {"worker_ref": "W-12"}),
            ("start", {}),
            ("note", {"text": "children with their grandmother"}),
            ("complete", {"outcome": "children safe with whanau"}),
        ):
            done = await act(system, tid, action, "msd", **body)
            assert done["http"] == 200, (action, done)

        final = await eventually(
            lambda: system.get(f"/tasks/{tid}"), lambda t: t["status"] == "completed"
        )
        changes = [step["change"] for step in final["history"]]
        assert changes == [
            "opened",
            "declined",
            "offered",
            "declined",
            "offered",
            "declined",
            "unplaced",
            "offered",
            "accepted",
            "assigned",
            "started",
            "note_added",
            "completed",
        ]
        first_decline = final["history"][1]
        assert first_decline["actor"]["agency"] == "oranga_tamariki"
        # The code is shown; the words, which may name someone, only through the case.
        assert first_decline["reason"] == "other"
        assert first_decline["detail"]["reason_code"] == "other"
        assert first_decline["detail"]["reason"]["withheld"] == "personal details"
        assert all(step["correlation_id"] == op for step in final["history"])


async def test_a_place_adopts_its_own_playbook_and_an_invalid_one_changes_nothing(
    settings: Settings,
) -> None:
    """A playbook adopted for a place governs the tasks of arrests there (each task names it);
    an invalid one is refused with every error listed and the one in force stays."""
    async with running_system(settings) as system:
        toml = (
            'name = "southland"\nversion = 3\n'
            "[[rules]]\n"
            'id = "child-safety-fast"\n'
            'when = { event = "arrest", children = true }\n'
            "[rules.task]\n"
            'kind = "child_safety_check"\nlead_agency = "iwi_provider"\n'
            'fallback_agencies = ["oranga_tamariki"]\ndue_within = "90m"\n'
        )
        adopted = await system.as_(CHAIR).post(
            "/playbooks", json={"toml": toml, "place": "Mataura"}
        )
        assert adopted.status_code == 201, adopted.text
        assert adopted.json() == {"scope": "place:mataura", "playbook": "southland@v3"}

        broken = toml.replace('due_within = "90m"', 'due_within = "soon"').replace(
            "version = 3", "version = 0"
        )
        refused = await system.as_(CHAIR).post(
            "/playbooks", json={"toml": broken, "place": "Mataura"}
        )
        assert refused.status_code == 422
        assert len(refused.json()["errors"]) == 2
        assert any("due_within" in e["field"] for e in refused.json()["errors"])

        op = await plan_and_launch(system, place="Mataura")
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 4}])
        task = await child_check(system, op)
        assert (task["playbook"], task["rule_id"]) == ("southland@v3", "child-safety-fast")
        assert task["agency"] == "iwi_provider"
        arrested = datetime.fromisoformat(task["opened_at"])
        due = datetime.fromisoformat(task["due_at"])
        assert timedelta(minutes=89) < due - arrested <= timedelta(minutes=90)
        kinds = {t["kind"] for t in await system.get("/tasks", operation_id=op)}
        assert kinds == {"child_safety_check"}, "only the place's rules apply"

        elsewhere = await plan_and_launch(system, place="Gore")
        await arrest(system, elsewhere, "P-2", "HH-2", [{"child_ref": "C-2", "age": 4}])
        other = await child_check(system, elsewhere)
        assert other["playbook"] == national_playbook().label

        # In force: the national default (no national one adopted) and the place's own.
        listed = await system.get("/playbooks")
        assert [p["playbook"] for p in listed] == [national_playbook().label, "southland@v3"]
        assert [p["default"] for p in listed] == [True, False]
        assert datetime.fromisoformat(listed[1]["adopted_at"]) <= datetime.now(UTC)


async def test_a_hold_service_down_for_36_hours_fires_each_overdue_step_once_on_restart(
    settings: Settings,
) -> None:
    """Hold stops right after a raid and simulated time moves on 36 hours. Restarted, it fires
    every reminder and escalation that fell due meanwhile, once: a second scheduler pass and a
    second restart add nothing."""
    clock = SimulatedClock(datetime.now(UTC))
    async with running_system(settings, clock=clock) as system:
        op = await plan_and_launch(system)
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 4}], only_carer=True)
        tasks = await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 3, what="tasks"
        )
        await system.stop_service("hold")
        clock.advance(timedelta(hours=36))

        hold = await system.start_service("hold", clock)
        # By +36 h (national playbook): the child safety check (due +2 h) has had its 2 reminders
        # and 3 escalations; the family liaison contact (due +4 h) its reminder and 3
        # escalations; the needs assessment (due +72 h, reminder at +48 h) nothing yet.
        expected = (2 + 3) + (1 + 3) + 0
        await eventually(
            lambda: _steps(system, tasks), lambda n: n == expected, within=20, what="all steps"
        )
        scheduler: DeadlineScheduler = hold.loops[0].__self__  # type: ignore[attr-defined]
        assert await asyncio.to_thread(scheduler.fire_due) == 0

        await system.stop_service("hold")
        hold = await system.start_service("hold", clock)
        again: DeadlineScheduler = hold.loops[0].__self__  # type: ignore[attr-defined]
        await eventually(
            lambda: _value(again.passes), lambda p: p > 0, what="a pass after the restart"
        )
        assert again.fired == 0
        assert await _steps(system, tasks) == expected
        child = next(t for t in tasks if t["kind"] == "child_safety_check")
        history = (await system.get(f"/tasks/{child['task_id']}"))["history"]
        levels = [s["detail"]["level"] for s in history if s["change"] == "escalated"]
        assert levels == ["worker", "agency_lead", "leadership_group_chair"]
        assert (await system.get(f"/tasks/{child['task_id']}"))["escalation_level"] == (
            "leadership_group_chair"
        )


async def _value(value: int) -> int:
    return value


async def _steps(system: InProcessSystem, tasks: list[dict[str, Any]]) -> int:
    total = 0
    for task in tasks:
        history = (await system.get(f"/tasks/{task['task_id']}"))["history"]
        total += sum(1 for s in history if s["change"] in ("reminded", "escalated"))
    return total


async def test_staged_support_is_hidden_until_launch_and_then_released_at_once(
    settings: Settings,
) -> None:
    """Before launch the planning cell stages two households; an agency user sees no case and
    no task and is refused the staged list, and nothing is on any stream. On launch the cases
    and tasks exist at once; a later arrest in a staged household joins its case."""
    async with running_system(settings) as system:
        planner = {"X-Actor-Agency": "police", "X-Actor-Role": "planner"}
        planned = await system.api.post(
            "/operations",
            json={
                "name": "Operation Whakaahuru",
                "district": "Southland",
                "place": "Mataura",
                "target_group": "t",
                "planned_start": "2026-03-01T05:00:00+13:00",
            },
        )
        op = planned.json()["operation_id"]
        for ref, children, only in (("HH-A", 2, True), ("HH-B", 1, False)):
            staged = await system.api.post(
                f"/operations/{op}/staged-support",
                json={
                    "household_ref": ref,
                    "expected_children": children,
                    "only_carer_expected": only,
                    "note": "address known to the cell",
                },
                headers=planner,
            )
            assert staged.status_code == 201, staged.text
        refused = await system.api.post(
            f"/operations/{op}/staged-support",
            json={"household_ref": "HH-C", "expected_children": 1},
            headers=as_agency("oranga_tamariki"),
        )
        assert refused.status_code == 403

        seen = await system.api.get(
            f"/operations/{op}/staged-support", headers=as_agency("oranga_tamariki")
        )
        assert seen.status_code == 403 and "planning cell" in seen.json()["detail"]
        mine = await system.api.get(f"/operations/{op}/staged-support", headers=planner)
        assert [s["household_ref"] for s in mine.json()["staged"]] == ["HH-A", "HH-B"]
        await eventually(
            lambda: _value(system.services["clear"].relay.position.published_id),
            lambda n: n >= 1,
            what="the plan published",
        )
        assert await system.get("/tasks", operation_id=op) == []
        assert await system.get("/cases", operation_id=op) == []
        nc = await connect_as(settings)
        js = nc.jetstream()
        clear_stream = await js.stream_info(stream_name("clear"))
        assert clear_stream.state.messages == 1, "only OperationPlanned before launch"
        planned_msg = await js.get_msg(stream_name("clear"), seq=1)
        assert planned_msg.data is not None and b"HH-A" not in planned_msg.data
        await nc.close()

        launched = await system.api.post(f"/operations/{op}/launch", headers=planner)
        assert launched.status_code == 200
        tasks = await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 6, what="tasks"
        )
        child_checks = {t["case_id"]: t for t in tasks if t["kind"] == "child_safety_check"}
        assert len(child_checks) == 2
        cases = await system.get("/cases", operation_id=op)
        assert sorted(c["household_ref"] for c in cases) == ["HH-A", "HH-B"]
        assert all(t["correlation_id"] == op for t in tasks)

        late = await system.api.post(
            f"/operations/{op}/staged-support",
            json={"household_ref": "HH-C", "expected_children": 1},
            headers=planner,
        )
        assert late.status_code == 409

        await arrest(system, op, "P-1", "HH-A", [{"child_ref": "C-1", "age": 3}], only_carer=True)
        await eventually(
            lambda: system.get("/cases", operation_id=op),
            lambda c: any(x["arrest_ids"] for x in c),
            what="the arrest linked",
        )
        assert len(await system.get("/cases", operation_id=op)) == 2
        assert len(await system.get("/tasks", operation_id=op)) == 6


async def test_a_witness_and_a_firearm_in_a_home_with_children_set_support_in_motion(
    settings: Settings,
) -> None:
    """Through the front door: a registered witness gets witness support, and a firearm seized
    where children live gets a child safety check, each in a case of its own household."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        witness = await system.api.post(
            f"/operations/{op}/witnesses",
            json={"witness_ref": "W-1", "household_ref": "HH-W"},
        )
        assert witness.status_code == 201, witness.text
        seizure = await system.api.post(
            f"/operations/{op}/seizures",
            json={
                "kind": "firearm",
                "description": "pistol",
                "quantity": 1,
                "unit": "item",
                "household_ref": "HH-F",
                "children": [{"child_ref": "C-F", "age": 7}],
            },
        )
        assert seizure.status_code == 201, seizure.text
        tasks = await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 2, what="tasks"
        )
        assert sorted((t["kind"], t["rule_id"]) for t in tasks) == [
            ("child_safety_check", "firearm-in-home-with-children"),
            ("witness_support", "witness-support"),
        ]
        households = sorted(c["household_ref"] for c in await system.get("/cases", operation_id=op))
        assert households == ["HH-F", "HH-W"]
