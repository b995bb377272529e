"""Deadlines kept from stored time: reminders before, escalations after, each exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from services.hold.application import HoldApplication
from services.hold.commands import SupportArrestedPersonsHousehold, TakeTaskStep
from services.hold.deadlines import task_scheduler
from services.hold.domain import SupportTask
from services.runtime.clock import SimulatedClock
from services.runtime.meta import SERVICE_ACTORS, Actor, Meta
from tests.support.playbook_facts import hold_tests_playbook
from tests.support.tasks import new_task

START = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)


def m(at: datetime) -> Meta:
    return Meta(occurred_at=at, operation_id=uuid4(), actor=SERVICE_ACTORS["hold"])


@pytest.mark.domain
def test_reminders_come_before_the_due_time_and_escalations_climb_after_it() -> None:
    """Due at 07:00 with a reminder 30 min before and escalations 15 min, 1 h and 2 h after:
    each fires once when its time comes, to the worker, the agency lead, then the chair."""
    task = new_task(due_at=START + timedelta(hours=2))  # reminder 30m; escalations 15m, 1h, 2h
    task.collect_events()
    assert task.next_deadline() == START + timedelta(hours=1, minutes=30)
    assert task.fire_deadlines(START + timedelta(hours=1), m(START)) == 0
    assert task.fire_deadlines(START + timedelta(hours=1, minutes=30), m(START)) == 1
    assert task.fire_deadlines(START + timedelta(hours=1, minutes=40), m(START)) == 0
    assert task.fire_deadlines(START + timedelta(hours=2, minutes=15), m(START)) == 1
    assert task.fire_deadlines(START + timedelta(hours=4), m(START)) == 2
    assert task.next_deadline() is None
    levels = [e.level for e in task.collect_events() if isinstance(e, SupportTask.Escalated)]
    assert levels == ["worker", "agency_lead", "leadership_group_chair"]


@pytest.mark.domain
def test_after_a_long_silence_everything_due_fires_once_and_a_finished_task_never() -> None:
    """A day late, the reminder and all three escalations fire together, once; a completed
    task fires nothing however late it is."""
    task = new_task(due_at=START + timedelta(hours=2))
    assert task.fire_deadlines(START + timedelta(days=1), m(START)) == 4
    assert task.fire_deadlines(START + timedelta(days=2), m(START)) == 0
    done = new_task(due_at=START + timedelta(hours=2))
    done.accept("oranga_tamariki", m(START))
    done.close_unable("oranga_tamariki", "moved_away", m(START))
    assert done.fire_deadlines(START + timedelta(days=1), m(START)) == 0
    assert done.next_deadline() is None


def arrest(app: HoldApplication, at: datetime, household: str, only_carer: bool, n: int) -> None:
    operation = uuid4()
    app.process_batch(
        [
            (
                SupportArrestedPersonsHousehold(
                    arrest_id=uuid4(),
                    household_ref=household,
                    place="Mataura",
                    arrested_at=at,
                    children=[{"child_ref": f"{household}-C", "age": 6}],
                    only_carer_present=only_carer,
                    meta=Meta(occurred_at=at, operation_id=operation, actor=SERVICE_ACTORS["hold"]),
                ),
                Tracking("clear", n),
            )
        ]
    )


def fired(app: HoldApplication) -> list[tuple[str, str, datetime]]:
    """(task kind, what fired, when) for every reminder and escalation recorded."""
    kinds: dict[object, str] = {}
    out = []
    for n in app.recorder.select_notifications(1, 100_000):
        event = app.mapper.to_domain_event(n)
        if isinstance(event, SupportTask.Opened):
            kinds[event.originator_id] = event.kind
        elif isinstance(event, SupportTask.Reminded):
            out.append((kinds[event.originator_id], "reminded", event.meta.occurred_at))
        elif isinstance(event, SupportTask.Escalated):
            out.append((kinds[event.originator_id], event.level, event.meta.occurred_at))
    return out


@pytest.mark.application
def test_an_operations_first_week_on_simulated_time() -> None:
    """Two households on the morning of a raid; the first household's tasks are all done in
    time, the second's are left. Hour by hour through the week, only the second's remind and
    escalate, each step once, at the first tick after its time."""
    clock = SimulatedClock(START)
    app = HoldApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        default_playbook=hold_tests_playbook(),
    )
    scheduler = task_scheduler(app, clock)
    arrest(app, START, "HH-DONE", only_carer=True, n=1)
    arrest(app, START, "HH-LEFT", only_carer=True, n=2)

    def work_done(household: str) -> None:
        for task_id in list(scheduler.next_deadlines):
            task = app.get_task(task_id)
            case = app.get_case(task.case_id)
            if case.household_ref != household or task.status != "offered":
                continue
            for action, extra in (
                ("accept", {}),
                ("assign", {"worker_ref": "W-1"}),
                ("start", {}),
                ("complete", {"outcome": "seen and safe"}),
            ):
                meta = Meta(
                    clock.now(), task.operation_id, Actor("w", task.chain[0], "agency_worker")
                )
                command = TakeTaskStep(task.id, action, task.chain[0], meta, **extra)  # type: ignore[arg-type]
                app.process_batch([(command, None)])

    scheduler.refresh()
    clock.advance(timedelta(minutes=30))
    work_done("HH-DONE")
    for _ in range(7 * 24):
        clock.advance(timedelta(hours=1))
        scheduler.fire_due()

    steps = fired(app)
    assert {kind for kind, _, _ in steps} == {
        "child_safety_check",
        "family_liaison_contact",
        "needs_assessment",
    }
    per_kind = Counter((kind, what) for kind, what, _ in steps)
    # national playbook: child safety 2 reminders, liaison 1, needs 1; three escalations each
    assert per_kind[("child_safety_check", "reminded")] == 2
    assert per_kind[("family_liaison_contact", "reminded")] == 1
    assert per_kind[("needs_assessment", "reminded")] == 1
    for kind in ("child_safety_check", "family_liaison_contact", "needs_assessment"):
        escalations = [w for k, w, _ in steps if k == kind and w != "reminded"]
        assert escalations == ["worker", "agency_lead", "leadership_group_chair"]
    # The child safety check was due 07:00; escalations at +15m, +1h, +2h fire on the hourly
    # ticks at 07:30 (hour 2.5), 08:30 and 09:30.
    child = [at for k, w, at in steps if k == "child_safety_check" and w != "reminded"]
    assert child == [START + timedelta(hours=h, minutes=30) for h in (2, 3, 4)]
    assert scheduler.fire_due() == 0


@pytest.mark.application
def test_the_scheduler_forgets_finished_tasks_and_ignores_their_late_notes() -> None:
    """A finished task leaves the index; a note added to it afterwards is harmless."""
    clock = SimulatedClock(START)
    app = HoldApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        default_playbook=hold_tests_playbook(),
    )
    scheduler = task_scheduler(app, clock)
    arrest(app, START, "HH-1", only_carer=False, n=1)
    scheduler.refresh()
    task_id = next(iter(scheduler.next_deadlines))
    task = app.get_task(task_id)
    agency = task.chain[0]
    meta = Meta(START, task.operation_id, Actor("w", agency, "agency_worker"))
    for action, extra in (("accept", {}), ("close", {"reason_code": "moved_away"})):
        app.process_batch([(TakeTaskStep(task_id, action, agency, meta, **extra), None)])  # type: ignore[arg-type]
    scheduler.refresh()
    assert task_id not in scheduler.next_deadlines
    app.process_batch([(TakeTaskStep(task_id, "note", agency, meta, text="followed up"), None)])
    scheduler.refresh()
    assert task_id not in scheduler.next_deadlines
    clock.advance(timedelta(days=5))
    assert scheduler.fire_due() > 0, "the household's other tasks do escalate"
    closed = app.get_task(task_id)
    assert (closed.reminders_sent, closed.escalations_sent) == (0, 0)


def test_hold_tests_run_against_their_own_playbook_not_the_national_one() -> None:
    """National policy may change without rewriting hold's tests: the tasks these tests see
    come from tests/support/hold_playbook.toml (the national default is tested on its own in
    test_playbook.py)."""
    clock = SimulatedClock(START)
    app = HoldApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        default_playbook=hold_tests_playbook(),
    )
    arrest(app, START, "HH-1", only_carer=True, n=1)
    labels = {
        app.mapper.to_domain_event(n).playbook
        for n in app.recorder.select_notifications(1, 1000)
        if n.topic.endswith("SupportTask.Opened")
    }
    assert labels == {"hold-tests@v1"}
