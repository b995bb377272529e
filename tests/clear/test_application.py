"""The clear application on an in-memory store, and how its stored events are published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts import (
    ArrestRecorded,
    IntegrationEvent,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    SeizureRecorded,
    parse_event,
)
from services.clear import handlers
from services.clear.application import ClearApplication
from services.clear.domain import Operation, OperationNotFound, OperationNotLaunched
from services.clear.translation import translate
from services.clear.transport import operation_view
from services.runtime.clock import SimulatedClock
from services.runtime.deciding import Unit
from services.runtime.meta import Actor
from tests.support.clear import (
    arrest_command,
    conclude_operation,
    launch_operation,
    plan_operation,
    record_arrest,
    record_seizure,
    stage_support,
)

pytestmark = pytest.mark.application

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
PLANNER = Actor(id="officer-0042", agency="police", role="planner")


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def app(clock: SimulatedClock) -> ClearApplication:
    return ClearApplication(env=POPO, clock=clock)


def run_operation(app: ClearApplication, clock: SimulatedClock) -> dict[str, Any]:
    """Plan, launch, one arrest, one seizure, conclude; returns the ids and times."""
    planned_start = clock.now() + timedelta(days=3)
    operation_id = plan_operation(
        app,
        "Operation Pakari",
        "Southern",
        "Mataura",
        "meth supply network",
        planned_start,
        PLANNER,
        "intelligence case 17",
    )
    clock.advance(timedelta(days=3))
    launch_operation(app, operation_id, PLANNER)
    clock.advance(timedelta(minutes=20))
    arrested_at = clock.now()
    arrest_id = record_arrest(
        app,
        operation_id,
        person_ref="person-7",
        household_ref="household-3",
        charges=["supply methamphetamine", "participation in organised criminal group"],
        children=[{"child_ref": "child-a", "age": 4}, {"child_ref": "child-b", "age": 11}],
        only_carer_present=True,
        actor=PLANNER,
    )
    seizure_id = record_seizure(app, operation_id, "firearm", "pistol", 1, "item", PLANNER)
    clock.advance(timedelta(hours=8))
    conclude_operation(app, operation_id, PLANNER, "targets in custody")
    return {
        "operation_id": operation_id,
        "arrest_id": arrest_id,
        "seizure_id": seizure_id,
        "planned_start": planned_start,
        "arrested_at": arrested_at,
        "concluded_at": clock.now(),
    }


def published(app: ClearApplication) -> list[IntegrationEvent]:
    notifications = app.recorder.select_notifications(start=1, limit=100)
    events = [translate(app.mapper.to_domain_event(n)) for n in notifications]
    assert all(e is not None for e in events)
    return [e for e in events if e is not None]


def test_commands_change_the_stored_operation(app: ClearApplication, clock: SimulatedClock):
    """After a whole operation the stored aggregate is concluded, with its arrest and seizure,
    and the view the front door shows says so."""
    ids = run_operation(app, clock)
    operation = app.get_operation(ids["operation_id"])
    assert operation.status == "concluded"
    assert operation.concluded_at == ids["concluded_at"]
    view = operation_view(operation)
    assert view["status"] == "concluded"
    assert view["arrests"] == 1
    assert view["seizures"] == 1
    assert view["version"] == 5
    assert view["planned_start"] == ids["planned_start"].isoformat()


def test_the_notification_log_holds_every_event_in_order(
    app: ClearApplication, clock: SimulatedClock
):
    """The notification log (the outbox) has the five events, numbered from 1, in the order
    the commands ran."""
    ids = run_operation(app, clock)
    notifications = app.recorder.select_notifications(start=1, limit=100)
    assert [n.id for n in notifications] == [1, 2, 3, 4, 5]
    assert {n.originator_id for n in notifications} == {ids["operation_id"]}
    decoded = [app.mapper.to_domain_event(n) for n in notifications]
    assert [type(e) for e in decoded] == [
        Operation.Planned,
        Operation.Launched,
        Operation.ArrestRecorded,
        Operation.SeizureRecorded,
        Operation.Concluded,
    ]


def test_unknown_operation_is_not_found(app: ClearApplication):
    """Commands on an operation that does not exist raise OperationNotFound."""
    with pytest.raises(OperationNotFound):
        launch_operation(app, uuid4(), PLANNER)
    with pytest.raises(OperationNotFound):
        app.get_operation(uuid4())


def test_a_refused_command_records_nothing(app: ClearApplication, clock: SimulatedClock):
    """An arrest before launch is refused and the notification log stays as it was."""
    operation_id = plan_operation(app, "Op", "Eastern", "Kawerau", "group", clock.now(), PLANNER)
    with pytest.raises(OperationNotLaunched):
        record_arrest(app, operation_id, "p", "h", ["c"], [], False, PLANNER)
    assert len(app.recorder.select_notifications(start=1, limit=100)) == 1


def test_stored_events_translate_to_valid_contracts(app: ClearApplication, clock: SimulatedClock):
    """Every stored event becomes the matching integration event, which survives the wire
    (parse_event of its JSON gives it back), carries the operation id as its correlation id,
    the command's actor, reason and simulated time, and no causation (a person caused it)."""
    ids = run_operation(app, clock)
    events = published(app)
    assert [type(e) for e in events] == [
        OperationPlanned,
        OperationLaunched,
        ArrestRecorded,
        SeizureRecorded,
        OperationConcluded,
    ]
    for event in events:
        assert parse_event(event.model_dump_json()) == event
        assert event.operation_id == ids["operation_id"]
        assert event.causation_id is None
        assert event.actor.model_dump() == {
            "id": PLANNER.id,
            "agency": PLANNER.agency,
            "role": PLANNER.role,
        }
    planned, launched, arrest, seizure, concluded = events
    assert planned.reason == "intelligence case 17"
    assert planned.planned_start == ids["planned_start"]
    assert launched.place == "Mataura"
    assert isinstance(arrest, ArrestRecorded)
    assert arrest.arrest_id == ids["arrest_id"]
    assert arrest.occurred_at == ids["arrested_at"]
    # The children went in with ages, as events stored before ages were sealed hold them:
    # only their references are published.
    assert [c.child_ref for c in arrest.children] == ["child-a", "child-b"]
    assert '"age"' not in arrest.model_dump_json() and arrest.ages is None
    assert arrest.only_carer_present is True
    assert isinstance(seizure, SeizureRecorded)
    assert seizure.seizure_id == ids["seizure_id"]
    assert isinstance(concluded, OperationConcluded)
    assert concluded.arrests == 1
    assert concluded.concluded_at == ids["concluded_at"]
    assert concluded.reason == "targets in custody"


def test_event_ids_are_deterministic(app: ClearApplication, clock: SimulatedClock):
    """Translating the same stored event twice gives the same event_id (so a re-publish is
    recognised as the same event), and different stored events get different ids."""
    run_operation(app, clock)
    first = [e.event_id for e in published(app)]
    again = [e.event_id for e in published(app)]
    assert first == again
    assert len(set(first)) == len(first)


def test_a_retried_command_id_gets_the_same_operation_and_arrest_after_a_restart(
    tmp_path: Path,
) -> None:
    """The id a command made is found again by its command id, from the store (a restarted
    process answers the retry of a command its predecessor recorded): the same operation and
    the same arrest, nothing recorded twice; another command id makes another of each."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "c.db")}
    plan, record = uuid4(), uuid4()

    def planned(app: ClearApplication, command_id: UUID) -> UUID:
        return plan_operation(
            app, "Op", "Eastern", "Gore", "gang", datetime.now(UTC), PLANNER, command_id=command_id
        )

    def arrested(app: ClearApplication, op: UUID, command_id: UUID) -> UUID:
        return record_arrest(
            app, op, "P-1", "H-1", ["supply"], [], False, PLANNER, command_id=command_id
        )

    first = ClearApplication(env=env)
    op = planned(first, plan)
    launch_operation(first, op, PLANNER)
    arrest_id = arrested(first, op, record)
    first.close()

    restarted = ClearApplication(env=env)
    assert planned(restarted, plan) == op
    assert arrested(restarted, op, record) == arrest_id
    assert restarted.get_operation(op).arrests == 1

    other_op = planned(restarted, uuid4())
    other_arrest = arrested(restarted, op, uuid4())
    assert other_op != op and other_arrest != arrest_id
    assert restarted.get_operation(op).arrests == 2
    notifications = restarted.recorder.select_notifications(start=1, limit=100)
    events = [translate(restarted.mapper.to_domain_event(n)) for n in notifications]
    assert sorted(str(e.operation_id) for e in events if isinstance(e, OperationPlanned)) == (
        sorted([str(op), str(other_op)])
    )
    recorded = [e.arrest_id for e in events if isinstance(e, ArrestRecorded)]
    assert sorted(map(str, recorded)) == sorted([str(arrest_id), str(other_arrest)])
    restarted.close()


def test_a_long_operation_is_loaded_from_a_snapshot_not_replayed_from_the_start(
    tmp_path: Path,
) -> None:
    """After a hundred events an operation is snapshotted, so a restarted service loads it
    from the snapshot and the events after it, with the same state."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "c.db")}
    actor = Actor("p", "police", "planner")
    app = ClearApplication(env=env, clock=SimulatedClock())
    op = plan_operation(app, "Highwater", "Eastern", "Ōpōtiki", "gang", app.clock.now(), actor)
    launch_operation(app, op, actor)
    for i in range(120):
        record_arrest(app, op, f"P-{i}", f"H-{i}", ["supply"], [], False, actor)
    app.close()

    restarted = ClearApplication(env=env, clock=SimulatedClock())
    assert restarted.snapshots is not None
    snapshots = list(restarted.snapshots.get(op))
    assert [s.originator_version for s in snapshots] == [100]
    operation = restarted.get_operation(op)
    assert operation.arrests == 120 and operation.version == 122
    restarted.close()


def test_a_command_that_loses_a_version_race_is_decided_again() -> None:
    """A save refused because another command saved first is retried from a fresh load; a
    command that keeps losing gives up with the conflict."""
    from eventsourcing.persistence import IntegrityError

    from services.runtime.commands import with_retry_on_conflict

    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise IntegrityError("version taken")
        return "saved"

    assert with_retry_on_conflict(flaky) == "saved" and len(attempts) == 3

    def hopeless() -> None:
        raise IntegrityError("version taken")

    with pytest.raises(IntegrityError):
        with_retry_on_conflict(hopeless)


def test_a_command_sent_again_with_its_id_is_answered_the_same_and_recorded_once(
    app: ClearApplication,
) -> None:
    """The same command id gives back what the first command made, whether the retry comes
    later or in the same group commit; another id records another arrest."""
    op = plan_operation(app, "Op", "Eastern", "Ōpōtiki", "gang", datetime.now(UTC), PLANNER)
    launch_operation(app, op, PLANNER)
    retried, other = uuid4(), uuid4()

    def arrest(command_id: UUID) -> UUID:
        return record_arrest(
            app, op, "P-1", "H-1", ["supply"], [], False, PLANNER, command_id=command_id
        )

    first = arrest(retried)
    assert arrest(retried) == first
    again = arrest_command(op, "P-1", "H-1", ["supply"], [], False, PLANNER, command_id=other)
    same_batch = app.decide([again, again])
    assert same_batch[0] == same_batch[1] != first
    assert app.get_operation(op).arrests == 2
    notifications = app.recorder.select_notifications(start=1, limit=100)
    events = [translate(app.mapper.to_domain_event(n)) for n in notifications]
    recorded = [e for e in events if isinstance(e, ArrestRecorded)]
    assert sorted(e.arrest_id for e in recorded) == sorted([first, same_batch[0]])

    planned = uuid4()
    again = [
        plan_operation(
            app, "Op", "Eastern", "Gore", "gang", datetime.now(UTC), PLANNER, command_id=planned
        )
        for _ in range(2)
    ]
    assert again[0] == again[1]


def test_two_processes_deciding_one_retried_command_at_once_record_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clear processes on one store both decide the same command before either has saved:
    the second save is refused by the store (the receipt and the operation's version are
    taken), and deciding again answers with the first one's arrest."""
    from services.runtime.commands import with_retry_on_conflict

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "c.db")}
    first, second = ClearApplication(env=env), ClearApplication(env=env)
    op = plan_operation(first, "Op", "Eastern", "Ōpōtiki", "gang", datetime.now(UTC), PLANNER)
    launch_operation(first, op, PLANNER)
    second.get_operation(op)  # warm: its cache holds the operation before the first arrest
    command = uuid4()
    looked = handlers.made_by
    blind = [True]  # the second's first look comes before the first has saved

    def made_by(unit: Unit, command_id: UUID | None) -> UUID | None:
        if blind.pop() if blind else False:
            return None
        return looked(unit, command_id)

    made = record_arrest(
        first, op, "P-1", "H-1", ["supply"], [], False, PLANNER, command_id=command
    )
    monkeypatch.setattr(handlers, "made_by", made_by)
    retried = arrest_command(op, "P-1", "H-1", ["supply"], [], False, PLANNER, command_id=command)
    again = with_retry_on_conflict(lambda: second.decide([retried])[0])
    assert again == made
    assert second.get_operation(op).arrests == 1
    first.close()
    second.close()


def test_a_staged_note_is_released_at_launch_only_sealed(
    app: ClearApplication, clock: SimulatedClock
) -> None:
    """A sealed staged note goes out with the launch, to be read through the household's case;
    a plaintext one (staged before notes were sealed) stays in clear's store, never published.
    The planning cell's staged list carries the note as stored, for the front door to withhold."""
    sealed = "chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk"
    op = plan_operation(app, "Operation Pakari", "Southern", "Mataura", "t", clock.now(), PLANNER)
    stage_support(app, op, "HH-1", 2, True, sealed, PLANNER)
    stage_support(app, op, "HH-2", 1, False, "Nan lives next door", PLANNER)
    assert [s["note"] for s in app.get_operation(op).staged] == [sealed, "Nan lives next door"]
    launch_operation(app, op, PLANNER)
    (notification,) = app.recorder.select_notifications(start=4, limit=1)
    launched = translate(app.mapper.to_domain_event(notification))
    assert isinstance(launched, OperationLaunched)
    assert [(s.household_ref, s.note) for s in launched.staged_support] == [
        ("HH-1", sealed),
        ("HH-2", None),
    ]
    assert parse_event(launched.model_dump_json()) == launched
