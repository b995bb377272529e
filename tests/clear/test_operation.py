"""The operation aggregate: from plan to conclusion, and the commands its state refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.clear.domain import (
    CONCLUDED,
    LAUNCHED,
    PLANNED,
    ArrestFacts,
    Operation,
    OperationAlreadyConcluded,
    OperationAlreadyLaunched,
    OperationNotLaunched,
    SeizureFacts,
)
from services.runtime.clock import SimulatedClock
from services.runtime.meta import Actor, Meta

pytestmark = pytest.mark.domain

PLANNER = Actor(id="officer-0042", agency="police", role="planner")


def meta(clock: SimulatedClock, operation_id: UUID, reason: str | None = None) -> Meta:
    return Meta(occurred_at=clock.now(), operation_id=operation_id, actor=PLANNER, reason=reason)


def planned(clock: SimulatedClock) -> Operation:
    operation_id = uuid4()
    return Operation(
        id=operation_id,
        name="Operation Highwater",
        district="Eastern",
        place="Ōpōtiki",
        target_group="Mongrel Mob chapter",
        planned_start=clock.now() + timedelta(days=7),
        meta=meta(clock, operation_id, "warrant granted"),
    )


def arrest(operation: Operation, clock: SimulatedClock) -> UUID:
    arrest_id = uuid4()
    operation.record_arrest(
        arrest_id=arrest_id,
        facts=ArrestFacts(
            person_ref="person-1",
            household_ref="household-1",
            charges=["supply methamphetamine"],
            children=[{"child_ref": "child-1", "age": 6}],
            only_carer_present=True,
        ),
        meta=meta(clock, operation.id),
    )
    return arrest_id


def test_an_operation_goes_from_planned_to_launched_to_concluded() -> None:
    """Plan, launch, an arrest, a seizure and conclusion are recorded as five events in order,
    and the state follows: launched and concluded times are the events' occurred_at."""
    clock = SimulatedClock()
    operation = planned(clock)
    assert operation.status == PLANNED

    clock.advance(timedelta(days=7))
    operation.launch(meta(clock, operation.id))
    launched_at = clock.now()
    assert operation.status == LAUNCHED
    clock.advance(timedelta(minutes=30))
    arrest(operation, clock)
    operation.record_seizure(
        seizure_id=uuid4(),
        facts=SeizureFacts(kind="drugs", description="methamphetamine", quantity=1.2, unit="kg"),
        meta=meta(clock, operation.id),
    )
    clock.advance(timedelta(hours=6))
    operation.conclude(meta(clock, operation.id))

    assert operation.status == CONCLUDED
    assert operation.launched_at == launched_at
    assert operation.concluded_at == clock.now()
    assert operation.arrests == 1
    assert operation.seizures == 1
    events = operation.collect_events()
    assert [type(e) for e in events] == [
        Operation.Planned,
        Operation.Launched,
        Operation.ArrestRecorded,
        Operation.SeizureRecorded,
        Operation.Concluded,
    ]
    assert [e.originator_version for e in events] == [1, 2, 3, 4, 5]


def test_every_event_carries_meta_and_the_place() -> None:
    """Each event records who did it, when, for which operation, and the place, so it can be
    read on its own downstream."""
    clock = SimulatedClock(datetime(2026, 5, 1, 4, 0, tzinfo=UTC))
    operation = planned(clock)
    operation.launch(meta(clock, operation.id, "go"))
    arrest(operation, clock)
    operation.conclude(meta(clock, operation.id))

    for event in operation.collect_events():
        assert event.meta.operation_id == operation.id
        assert event.meta.actor == PLANNER
        assert event.meta.occurred_at == clock.now()
        assert vars(event)["place"] == "Ōpōtiki"


def test_the_planning_reason_is_kept_on_the_event() -> None:
    """A command's reason is recorded with the event it caused."""
    operation = planned(SimulatedClock())
    (event,) = operation.collect_events()
    assert event.meta.reason == "warrant granted"


def test_an_arrest_before_launch_is_refused() -> None:
    """Recording an arrest on a planned operation raises OperationNotLaunched and records
    nothing."""
    clock = SimulatedClock()
    operation = planned(clock)
    operation.collect_events()
    with pytest.raises(OperationNotLaunched):
        arrest(operation, clock)
    assert operation.collect_events() == []
    assert operation.arrests == 0


def test_a_seizure_before_launch_is_refused() -> None:
    """Recording a seizure on a planned operation raises OperationNotLaunched."""
    clock = SimulatedClock()
    operation = planned(clock)
    with pytest.raises(OperationNotLaunched):
        facts = SeizureFacts("cash", "cash", 5000, "NZD")
        operation.record_seizure(uuid4(), facts, meta(clock, operation.id))


def test_concluding_before_launch_is_refused() -> None:
    """Only a launched operation can be concluded."""
    clock = SimulatedClock()
    operation = planned(clock)
    with pytest.raises(OperationNotLaunched):
        operation.conclude(meta(clock, operation.id))


def test_launching_twice_is_refused() -> None:
    """A second launch raises OperationAlreadyLaunched and records nothing."""
    clock = SimulatedClock()
    operation = planned(clock)
    operation.launch(meta(clock, operation.id))
    operation.collect_events()
    with pytest.raises(OperationAlreadyLaunched):
        operation.launch(meta(clock, operation.id))
    assert operation.collect_events() == []


def test_concluding_twice_is_refused() -> None:
    """A second conclusion raises OperationAlreadyConcluded and records nothing."""
    clock = SimulatedClock()
    operation = planned(clock)
    operation.launch(meta(clock, operation.id))
    operation.conclude(meta(clock, operation.id))
    operation.collect_events()
    with pytest.raises(OperationAlreadyConcluded):
        operation.conclude(meta(clock, operation.id))
    assert operation.collect_events() == []


def test_nothing_is_recorded_after_conclusion() -> None:
    """A concluded operation refuses arrests and a relaunch as already concluded."""
    clock = SimulatedClock()
    operation = planned(clock)
    operation.launch(meta(clock, operation.id))
    operation.conclude(meta(clock, operation.id))
    with pytest.raises(OperationAlreadyConcluded):
        arrest(operation, clock)
    with pytest.raises(OperationAlreadyConcluded):
        operation.launch(meta(clock, operation.id))


def test_the_conclusion_counts_the_arrests() -> None:
    """The Concluded event carries how many arrests the operation made."""
    clock = SimulatedClock()
    operation = planned(clock)
    operation.launch(meta(clock, operation.id))
    arrest(operation, clock)
    arrest(operation, clock)
    operation.conclude(meta(clock, operation.id))
    concluded = operation.collect_events()[-1]
    assert isinstance(concluded, Operation.Concluded)
    assert vars(concluded)["arrests"] == 2
