"""The audit timeline: every service's history from its store, merged, with causes both ways."""

from __future__ import annotations

import csv
import io
import json
from uuid import UUID

import pytest

from services.audit.timeline import stream_histories, timeline, to_csv, to_jsonl
from services.runtime.settings import Settings
from tests.support.flows import arrest, plan_and_launch
from tests.support.system import AUDITOR, eventually, running_system

pytestmark = pytest.mark.integration


async def test_an_operations_timeline_merges_all_three_services_with_causes_both_ways(
    settings: Settings,
) -> None:
    """Plan, launch, an arrest, conclude: the timeline holds clear's, hold's and build's
    entries in the order they were recorded; each hold entry names the arrest as its cause and
    the arrest lists them as what it caused; another operation's entries are left out."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system, place="Mataura")
        other = await plan_and_launch(system, place="Gore")
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 5}], only_carer=True)
        assert (await system.api.post(f"/operations/{op}/conclude")).status_code == 200
        await eventually(lambda: system.get("/milestones", operation_id=op), lambda m: len(m) == 4)

    entries = timeline(settings, operation_id=op)
    from_streams = timeline(settings, operation_id=op, histories=await stream_histories(settings))
    assert [e.event_id for e in from_streams] == [e.event_id for e in entries], (
        "a running system's streams tell the same story as its stores"
    )
    assert {e.operation_id for e in entries} == {op}
    assert [e.recorded_at for e in entries] == sorted(e.recorded_at for e in entries)
    assert {e.service for e in entries} == {"clear", "hold", "build"}
    kinds = [e.event_type for e in entries]
    assert kinds[:3] == ["OperationPlanned", "OperationLaunched", "ArrestRecorded"]
    assert kinds.count("SupportTaskOpened") == 3 and kinds.count("MilestoneScheduled") == 4

    the_arrest = next(e for e in entries if e.event_type == "ArrestRecorded")
    held = [e for e in entries if e.service == "hold"]
    assert all(e.causation_id == the_arrest.event_id for e in held)
    assert sorted(the_arrest.caused) == sorted(e.event_id for e in held)
    assert the_arrest.actor_role == "planner" and held[0].actor_id == "hold-service"

    in_gore = timeline(settings, place="gore")
    assert {e.operation_id for e in in_gore} == {other}

    lines = [json.loads(line) for line in to_jsonl(entries).splitlines()]
    assert [line["event_id"] for line in lines] == [e.event_id for e in entries]
    rows = list(csv.DictReader(io.StringIO(to_csv(entries))))
    assert len(rows) == len(entries) and rows[2]["caused"] == " ".join(the_arrest.caused)


async def test_the_state_at_a_moment_and_a_rebuild_that_matches_the_live_views(
    settings: Settings,
) -> None:
    """As of a moment between two steps, a task shows the status it had then; rebuilt from the
    whole history, every list the front door serves is identical to the live one."""
    from datetime import UTC, datetime

    from services.audit.timeline import replay
    from services.views.compare import LISTS, differences, rebuilt_lists

    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 5}], only_carer=True)
        tasks = await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 3
        )
        moment = datetime.now(UTC)
        child = next(t for t in tasks if t["kind"] == "child_safety_check")
        accepted = await system.api.post(
            f"/tasks/{child['task_id']}/accept",
            headers={"X-Actor-Agency": "oranga_tamariki", "X-Actor-Role": "agency_worker"},
        )
        assert accepted.status_code == 200
        await eventually(
            lambda: system.get(f"/tasks/{child['task_id']}"), lambda t: t["status"] == "accepted"
        )
        live = {path: await system.get(path) for path in LISTS}

    then = replay(settings, until=moment)
    now = replay(settings)
    task_id = UUID(child["task_id"])
    assert then.tasks[task_id].status == "offered"
    assert now.tasks[task_id].status == "accepted"
    assert differences(live, rebuilt_lists(now)) == []


def test_every_difference_between_live_and_rebuilt_views_is_named() -> None:
    """A missing item, an extra item and a changed field each get their own line."""
    from services.views.compare import differences

    live = {"/tasks": [{"task_id": "a", "status": "offered"}, {"task_id": "x", "status": "?"}]}
    rebuilt = {"/tasks": [{"task_id": "a", "status": "accepted"}, {"task_id": "b", "status": "o"}]}
    assert differences(live, rebuilt) == [
        "/tasks b: in the history, missing from the live view",
        "/tasks x: in the live view, not in the history",
        "/tasks a.status: live 'offered', history 'accepted'",
    ]


async def test_accountability_figures_from_the_events_against_figures_worked_by_hand(
    settings: Settings,
) -> None:
    """Two households arrested at 05:00. HH-1's child safety check is declined once ("no
    staff"), accepted by the iwi provider, started at 05:45 and completed at 06:30 (due 07:00):
    first contact 45 minutes after the arrest, one of six tasks done within its due time. HH-2
    is left alone for 36 hours: its child safety check and family liaison contact (and HH-1's
    liaison contact) escalate through all three levels; replaying gives the same figures."""
    from datetime import UTC, datetime, timedelta

    from services.audit.figures import figures
    from services.runtime.clock import SimulatedClock

    clock = SimulatedClock(datetime(2026, 3, 1, 5, 0, tzinfo=UTC))
    async with running_system(settings, clock=clock) as system:
        op = await plan_and_launch(system)
        for household in ("HH-1", "HH-2"):
            await arrest(
                system,
                op,
                f"P-{household}",
                household,
                [{"child_ref": f"C-{household}", "age": 5}],
                only_carer=True,
            )
        tasks = await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 6
        )
        cases = {c["case_id"]: c["household_ref"] for c in await system.get("/cases")}
        child = next(
            t for t in tasks if t["kind"] == "child_safety_check" and cases[t["case_id"]] == "HH-1"
        )

        async def step(action: str, agency: str, **body: str) -> None:
            response = await system.api.post(
                f"/tasks/{child['task_id']}/{action}",
                json=body or None,
                headers={"X-Actor-Agency": agency, "X-Actor-Role": "agency_worker"},
            )
            assert response.status_code == 200, response.text

        await step("decline", "oranga_tamariki", reason_code="no_capacity")
        await step("accept", "iwi_provider")
        await step("assign", "iwi_provider", worker_ref="NAV-1")
        clock.advance(timedelta(minutes=45))
        await step("start", "iwi_provider")
        clock.advance(timedelta(minutes=45))
        await step("complete", "iwi_provider", outcome="children safe")
        clock.advance(timedelta(hours=36))
        await eventually(
            lambda: system.get("/operations/" + op + "/hold"),
            lambda s: len(s["open_escalations"]) == 3,
            what="escalations",
        )
        await eventually(
            lambda: system.get(f"/tasks/{child['task_id']}"), lambda t: t["status"] == "completed"
        )

    result = figures(timeline(settings, operation_id=op))
    assert result["households"] == 2 and result["households_contacted"] == 1
    assert result["households_not_yet_contacted"] == 1
    assert result["minutes_from_arrest_to_first_contact"] == {"median": 45.0, "max": 45.0}
    assert result["tasks"] == 6 and result["tasks_completed_within_due_time"] == 1
    assert result["share_done_within_due_time"] == round(1 / 6, 3)
    assert result["declines_by_reason"] == {"no_capacity": 1}
    assert result["escalations_by_level"] == {
        "agency_lead": 3,
        "leadership_group_chair": 3,
        "worker": 3,
    }
    assert figures(timeline(settings, operation_id=op)) == result, "replay gives the same"


async def test_the_audit_routes_answer_from_a_running_systems_streams(settings: Settings) -> None:
    """GET /audit/timeline, /audit/as-of and /audit/figures give what the commands give; as of
    the arrest's recorded time the operation shows it and no task yet, as of the launch none."""
    from datetime import UTC, datetime

    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 5}])
        await eventually(lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 3)
        served = await eventually(
            lambda: system.get("/audit/timeline", as_=AUDITOR, operation_id=op),
            # plan, launch, arrest; the case, where the household's cases are, the arrest
            # linked, the case's tasks, and three tasks
            lambda t: len(t) == 10,
        )
        assert [e["event_type"] for e in served][:3] == [
            "OperationPlanned",
            "OperationLaunched",
            "ArrestRecorded",
        ]
        now = await system.get(
            "/audit/as-of", as_=AUDITOR, at=datetime.now(UTC).isoformat(), operation_id=op
        )
        assert now["operation"]["status"] == "launched" and len(now["tasks"]) == 3
        arrested = next(e for e in served if e["event_type"] == "ArrestRecorded")["recorded_at"]
        before = await system.get("/audit/as-of", as_=AUDITOR, at=arrested, operation_id=op)
        assert before["operation"]["arrests"] == 1 and before["tasks"] == []
        launched = served[1]["recorded_at"]
        assert (await system.get("/audit/as-of", as_=AUDITOR, at=launched, operation_id=op))[
            "operation"
        ]["arrests"] == 0
        naive = await system.as_(AUDITOR).get("/audit/as-of", params={"at": "2026-03-01T14:05:00"})
        assert naive.status_code == 422
        counted = await system.get("/audit/figures", as_=AUDITOR, operation_id=op)
        assert counted["households"] == 1 and counted["tasks"] == 3
    assert [e.event_id for e in timeline(settings, operation_id=op)] == [
        e["event_id"] for e in served
    ]
