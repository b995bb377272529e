"""The hold application reacting to clear's arrests, on an in-memory store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import (
    AffectedChild,
    ArrestLinkedToCase,
    ArrestRecorded,
    CaseTasksAttached,
    DeadLetterRecorded,
    HouseholdCaseJoined,
    IntegrationEvent,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
    parse_event,
)
from contracts.envelope import Actor as ActorContract
from services.clear.application import ClearApplication
from services.clear.translation import translate as clear_translate
from services.hold.application import HoldApplication
from services.hold.domain import SupportTask, WhanauCase
from services.hold.domain.rules import tasks_for
from services.hold.playbook import Facts
from services.hold.policy import command_from
from services.hold.translation import translate as hold_translate
from services.runtime.application import Job
from services.runtime.clock import SimulatedClock
from services.runtime.dead_letters import NIL, RecordDeadLetter
from services.runtime.meta import SERVICE_ACTORS, Actor, Meta
from tests.support.clear import launch_operation, plan_operation, record_arrest
from tests.support.playbook_facts import hold_tests_playbook

pytestmark = pytest.mark.application

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
PLANNER = Actor(id="officer-0042", agency="police", role="planner")
KINDS = ("child_safety_check", "family_liaison_contact", "needs_assessment")


def arrest(
    clock: SimulatedClock,
    operation_id: UUID,
    household_ref: str = "household-1",
    children: tuple[str, ...] = ("child-1",),
    only_carer_present: bool = True,
) -> ArrestRecorded:
    """An ArrestRecorded as clear would publish it, occurring at the clock's time."""
    return ArrestRecorded(
        event_id=uuid4(),
        occurred_at=clock.now(),
        recorded_at=clock.now(),
        operation_id=operation_id,
        actor=ActorContract(id=PLANNER.id, agency=PLANNER.agency, role=PLANNER.role),
        arrest_id=uuid4(),
        place="Ōpōtiki",
        person_ref=f"person-{uuid4().hex[:8]}",
        household_ref=household_ref,
        charges=("supply methamphetamine",),
        children=tuple(AffectedChild(child_ref=ref) for ref in children),
        only_carer_present=only_carer_present,
    )


def jobs(clock: SimulatedClock, events: list[IntegrationEvent], first_id: int = 1) -> list[Job]:
    return [
        (command_from(event, clock), Tracking("clear", first_id + i))
        for i, event in enumerate(events)
    ]


def stored(app: HoldApplication) -> list[Any]:
    return [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=1, limit=1000)
    ]


def published(app: HoldApplication) -> list[IntegrationEvent]:
    events = [hold_translate(e) for e in stored(app)]
    assert all(e is not None for e in events)
    return [e for e in events if e is not None]


def tasks(app: HoldApplication, case_id: UUID) -> dict[str, datetime]:
    """Each task kind of the case and its current due time, read back from the store."""
    found = {}
    for kind in KINDS:
        task_id = SupportTask.create_id(case_id, kind)
        if task_id in app.repository:
            found[kind] = app.get_task(task_id).due_at
    return found


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def app(clock: SimulatedClock) -> HoldApplication:
    return HoldApplication(env=POPO, clock=clock, default_playbook=hold_tests_playbook())


def test_an_arrest_with_children_and_only_carer_opens_a_case_and_three_tasks(
    app: HoldApplication, clock: SimulatedClock
):
    """The household's case opens with the arrest linked, and a child safety check (Oranga
    Tamariki, arrest + 2h), family liaison (Police, + 4h) and needs assessment (iwi provider,
    + 72h) are opened, all timed from the arrest, not from when hold processed it."""
    operation_id = uuid4()
    event = arrest(clock, operation_id, children=("child-1", "child-2"), only_carer_present=True)
    arrested_at = clock.now()
    clock.advance(timedelta(minutes=45))  # hold is late: due times must not move

    # The case, its arrest and three tasks; and hold's record of where the household has cases
    # and which tasks the case has (need-to-know is decided from them).
    assert app.process_batch(jobs(clock, [event])) == 5 + 2

    case_id = WhanauCase.create_id(operation_id, "household-1")
    case = app.get_case(case_id)
    assert case.arrest_ids == [event.arrest_id]
    assert case.child_refs == ["child-1", "child-2"]
    assert tasks(app, case_id) == {
        "child_safety_check": arrested_at + timedelta(hours=2),
        "family_liaison_contact": arrested_at + timedelta(hours=4),
        "needs_assessment": arrested_at + timedelta(hours=72),
    }
    opened = [e for e in published(app) if isinstance(e, SupportTaskOpened)]
    assert {e.kind: e.lead_agency for e in opened} == {
        "child_safety_check": "oranga_tamariki",
        "family_liaison_contact": "police",
        "needs_assessment": "iwi_provider",
    }


def test_children_with_another_carer_present_get_a_check_within_a_day(
    app: HoldApplication, clock: SimulatedClock
):
    """With another carer present the child safety check is due at arrest + 24h."""
    operation_id = uuid4()
    app.process_batch(jobs(clock, [arrest(clock, operation_id, only_carer_present=False)]))
    due = tasks(app, WhanauCase.create_id(operation_id, "household-1"))
    assert due["child_safety_check"] == clock.now() + timedelta(hours=24)


def test_no_children_means_no_child_safety_check(app: HoldApplication, clock: SimulatedClock):
    """An arrest with no children opens family liaison (+24h) and a needs assessment only."""
    operation_id = uuid4()
    app.process_batch(jobs(clock, [arrest(clock, operation_id, children=())]))
    assert tasks(app, WhanauCase.create_id(operation_id, "household-1")) == {
        "family_liaison_contact": clock.now() + timedelta(hours=24),
        "needs_assessment": clock.now() + timedelta(hours=72),
    }


def test_households_and_operations_each_get_their_own_case(
    app: HoldApplication, clock: SimulatedClock
):
    """Two households in one operation are two cases; the same household in another operation
    is a third."""
    op_a, op_b = uuid4(), uuid4()
    events = [
        arrest(clock, op_a, "household-1"),
        arrest(clock, op_a, "household-2"),
        arrest(clock, op_b, "household-1"),
    ]
    app.process_batch(jobs(clock, events))
    opened = [e for e in published(app) if isinstance(e, WhanauCaseOpened)]
    assert sorted((e.operation_id, e.household_ref) for e in opened) == sorted(
        [(op_a, "household-1"), (op_a, "household-2"), (op_b, "household-1")]
    )


def final_state(
    events: list[ArrestRecorded], clock: SimulatedClock, one_batch: bool
) -> tuple[HoldApplication, list[IntegrationEvent]]:
    app = HoldApplication(env=POPO, clock=clock, default_playbook=hold_tests_playbook())
    all_jobs = jobs(clock, list(events))
    if one_batch:
        app.process_batch(all_jobs)
    else:
        for job in all_jobs:
            app.process_batch([job])
    return app, published(app)


children_sets = st.lists(
    st.sampled_from(["child-1", "child-2", "child-3"]), max_size=3, unique=True
).map(tuple)


@settings(max_examples=40, deadline=None)
@given(
    first_children=children_sets,
    second_children=children_sets,
    first_only_carer=st.booleans(),
    second_only_carer=st.booleans(),
    minutes_apart=st.integers(min_value=0, max_value=48 * 60),
    one_batch=st.booleans(),
)
def test_two_arrests_of_one_household_in_either_order_give_the_same_case(
    first_children: tuple[str, ...],
    second_children: tuple[str, ...],
    first_only_carer: bool,
    second_only_carer: bool,
    minutes_apart: int,
    one_batch: bool,
):
    """Two carers of one household arrested, processed in either order (in one batch or two):
    exactly one case with both arrests, each task opened once, and the same final due times,
    each the tightest that either arrest calls for."""
    clock = SimulatedClock()
    operation_id = uuid4()
    first = arrest(clock, operation_id, "household-9", first_children, first_only_carer)
    clock.advance(timedelta(minutes=minutes_apart))
    second = arrest(clock, operation_id, "household-9", second_children, second_only_carer)

    expected: dict[str, datetime] = {}
    for event in (first, second):
        # No ages given: each child's is unknown, read as young.
        ages = tuple(None for _ in event.children)
        facts = Facts("arrest", ages, event.only_carer_present)
        for plan in tasks_for(facts, event.occurred_at, hold_tests_playbook()):
            expected[plan.kind] = min(expected.get(plan.kind, plan.due_at), plan.due_at)

    case_id = WhanauCase.create_id(operation_id, "household-9")
    results = []
    for order in ([first, second], [second, first]):
        app, events = final_state(order, clock, one_batch)
        cases = [e for e in events if isinstance(e, WhanauCaseOpened)]
        links = [e for e in events if isinstance(e, ArrestLinkedToCase)]
        opened = [e for e in events if isinstance(e, SupportTaskOpened)]
        assert [c.case_id for c in cases] == [case_id]
        assert sorted(link.arrest_id for link in links) == sorted(
            [first.arrest_id, second.arrest_id]
        )
        assert sorted(e.kind for e in opened) == sorted(expected)
        assert tasks(app, case_id) == expected
        assert links[-1].children_total == len({*first_children, *second_children})
        results.append(sorted(app.get_case(case_id).child_refs))
    assert results[0] == results[1]


def test_the_same_arrest_twice_records_nothing_new(app: HoldApplication, clock: SimulatedClock):
    """An arrest already linked to its case, seen again (later, or twice in one batch), adds
    no events."""
    event = arrest(clock, uuid4())
    assert app.process_batch(jobs(clock, [event, event])) == 5 + 2  # 2: as above
    assert app.process_batch(jobs(clock, [event], first_id=3)) == 0
    assert len(stored(app)) == 5 + 2


def test_a_batch_is_tracked_at_its_last_position(app: HoldApplication, clock: SimulatedClock):
    """A batch is recorded with the tracking position of its last job, in the same
    transaction as its events."""
    operation_id = uuid4()
    events = [arrest(clock, operation_id, f"household-{i}") for i in range(3)]
    app.process_batch(jobs(clock, events, first_id=7))
    assert app.recorder.max_tracking_id("clear") == 9
    assert app.max_tracking_id("clear") == 9


def test_an_irrelevant_event_is_tracked_with_no_events(app: HoldApplication, clock: SimulatedClock):
    """An upstream event hold has nothing to do with (no command) still moves the tracking
    position, so it is not processed again, and records nothing."""
    assert app.max_tracking_id("clear") == 0
    assert app.process_batch([(None, Tracking("clear", 1))]) == 0
    assert app.recorder.max_tracking_id("clear") == 1
    assert stored(app) == []


def test_a_dead_letter_is_recorded_and_published(app: HoldApplication, clock: SimulatedClock):
    """A RecordDeadLetter command records a DeadLetter event, tracked like any other, that
    translates to a DeadLetterRecorded keeping the body and the reason."""
    command = RecordDeadLetter(
        consumer="hold_from_clear",
        subject="chb.clear.arrest_recorded",
        stream_sequence=12,
        notification_id=12,
        error="ArrestRecorded v1: children.0.age: too old (1 errors)",
        body='{"event_type": "ArrestRecorded"}',
        meta=Meta(occurred_at=clock.now(), operation_id=NIL, actor=SERVICE_ACTORS["hold"]),
    )
    assert app.process_batch([(command, Tracking("clear", 12))]) == 1
    assert app.max_tracking_id("clear") == 12
    (event,) = published(app)
    assert isinstance(event, DeadLetterRecorded)
    assert parse_event(event.model_dump_json()) == event
    assert event.consumer == "hold_from_clear"
    assert event.subject == "chb.clear.arrest_recorded"
    assert event.stream_sequence == 12
    assert event.notification_id == 12
    assert event.error.startswith("ArrestRecorded v1: children.0.age")
    assert event.body == '{"event_type": "ArrestRecorded"}'
    assert event.operation_id == NIL
    assert event.actor.id == "hold-service"


def test_hold_events_are_caused_by_the_arrest_recorded_by_clear(clock: SimulatedClock):
    """Every event hold records because of an arrest carries the ArrestRecorded event_id as
    its causation id and the operation id as its correlation id, is attributed to the hold
    service, and is a valid contract on the wire."""
    clear = ClearApplication(env=POPO, clock=clock)
    operation_id = plan_operation(
        clear, "Operation Whakaahuru", "Southern", "Mataura", "group", clock.now(), PLANNER
    )
    launch_operation(clear, operation_id, PLANNER)
    record_arrest(
        clear,
        operation_id,
        "person-1",
        "household-1",
        ["supply"],
        [{"child_ref": "child-1"}],
        True,
        PLANNER,
    )
    (notification,) = clear.recorder.select_notifications(start=3, limit=1)
    contract = clear_translate(clear.mapper.to_domain_event(notification))
    assert isinstance(contract, ArrestRecorded)
    contract = parse_event(contract.model_dump_json())  # as hold receives it
    assert isinstance(contract, ArrestRecorded)

    hold = HoldApplication(env=POPO, clock=clock, default_playbook=hold_tests_playbook())
    clock.advance(timedelta(minutes=5))
    hold.process_batch([(command_from(contract, clock), Tracking("clear", notification.id))])

    events = published(hold)
    assert [type(e) for e in events] == [
        WhanauCaseOpened,
        HouseholdCaseJoined,
        ArrestLinkedToCase,
        CaseTasksAttached,
        SupportTaskOpened,
        SupportTaskOpened,
        SupportTaskOpened,
    ]
    for event in events:
        assert event.causation_id == contract.event_id
        assert event.operation_id == operation_id
        assert event.actor.id == "hold-service"
        assert event.occurred_at == clock.now()
        assert parse_event(event.model_dump_json()) == event
    assert len({e.event_id for e in events}) == len(events)
    assert [e.event_id for e in published(hold)] == [e.event_id for e in events]
    assert hold.max_tracking_id("clear") == notification.id


def test_a_second_carer_brings_a_deadline_forward(app: HoldApplication, clock: SimulatedClock):
    """A household's first arrest without children, then a carer with the children and only
    carer present: the family liaison due time is brought forward (SupportTaskRescheduled)
    and a child safety check is opened."""
    operation_id = uuid4()
    first = arrest(clock, operation_id, children=())
    clock.advance(timedelta(hours=1))
    second = arrest(clock, operation_id, children=("child-1",), only_carer_present=True)
    app.process_batch(jobs(clock, [first, second]))
    rescheduled = [e for e in published(app) if isinstance(e, SupportTaskRescheduled)]
    assert len(rescheduled) == 1
    assert rescheduled[0].due_at == second.occurred_at + timedelta(hours=4)
    assert tasks(app, WhanauCase.create_id(operation_id, "household-1"))[
        "child_safety_check"
    ] == second.occurred_at + timedelta(hours=2)
