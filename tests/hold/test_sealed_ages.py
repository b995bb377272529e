"""Hold opens an arrest's sealed ages with its own, read-only, access to the household keys,
on the real nats-server the suite runs, and takes the protective reading once they are gone."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking

from contracts import (
    AffectedChild,
    ArrestAges,
    ArrestRecorded,
    Child,
    ChildrenAges,
    SeizureRecorded,
    WitnessRegistered,
)
from contracts.envelope import Actor
from services.hold.application import HoldApplication
from services.hold.commands import (
    OpenedAges,
    PutPlaybookInForce,
    SupportArrestedPersonsHousehold,
    SupportHousehold,
)
from services.hold.domain import WhanauCase, playbook_scope
from services.hold.policy import AgeOpener
from services.runtime.authorization import Caller
from services.runtime.clock import SimulatedClock
from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_permissions import API
from services.runtime.sealing import HouseholdKeys
from tests.support.nats_connections import connected
from tests.support.playbook_facts import YOUNG_CHILD_AT_HOME, hold_tests_playbook, opened

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)

# Who puts a playbook in force: the leadership group's chair.
CHAIR = Caller(subject="chair-1", role="leadership_group_chair", agency="iwi")


def arrest(household_ref: str, ages: str | None) -> ArrestRecorded:
    return ArrestRecorded(
        event_id=uuid4(),
        occurred_at=AT,
        recorded_at=AT,
        operation_id=uuid4(),
        actor=Actor(id="officer-0042", agency="police", role="planner"),
        arrest_id=uuid4(),
        place="Mataura",
        person_ref="P-1",
        household_ref=household_ref,
        charges=("supply",),
        children=(AffectedChild(child_ref="C-1"),),
        ages=ages,
    )


async def test_hold_opens_sealed_ages_until_the_household_is_erased(
    clean_nats: EmbeddedNats,
) -> None:
    """As the hold user, the ages the front door sealed open to what was given, for the rules
    only; after the household's key is purged they open to nothing, and hold then opens the
    tasks an age could call for (youth justice support for a 34-year-old included) instead of
    guessing. An arrest without ages needs no key at all."""
    given = ArrestAges(person_age=34, children=(Child(child_ref="C-1", age=8),))
    async with connected(clean_nats, API) as api, connected(clean_nats, "hold") as hold:
        keys = await HouseholdKeys.open(api.js)
        sealed = await keys.seal("HH-1", given)
        opener = AgeOpener(lambda: hold.js)
        clock = SimulatedClock(AT)

        command = await opener.command_from(arrest("HH-1", sealed), clock)
        assert isinstance(command, SupportArrestedPersonsHousehold)
        assert command.ages == sealed
        assert command.opened == OpenedAges(34, {"C-1": 8})

        await keys.erase("HH-1")
        erased = await opener.command_from(arrest("HH-1", sealed), clock)
        assert isinstance(erased, SupportArrestedPersonsHousehold)
        assert erased.ages == sealed and erased.opened is None

        none_given = await opener.command_from(arrest("HH-2", None), clock)
        assert isinstance(none_given, SupportArrestedPersonsHousehold)
        assert none_given.ages is None and none_given.opened is None

    app = HoldApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        default_playbook=hold_tests_playbook(),
    )
    app.process_batch([(command, Tracking("clear", 1)), (erased, Tracking("clear", 2))])
    kinds: dict[UUID, set[str]] = {}
    for notification in app.recorder.select_notifications(1, 1000):
        if notification.topic.endswith("SupportTask.Opened"):
            task = app.mapper.to_domain_event(notification)
            kinds.setdefault(task.case_id, set()).add(task.kind)
    readable = kinds[WhanauCase.create_id(command.meta.operation_id, "HH-1")]
    unreadable = kinds[WhanauCase.create_id(erased.meta.operation_id, "HH-1")]
    assert "youth_justice_support" not in readable
    assert unreadable == readable | {"youth_justice_support"}


async def test_hold_opens_a_seizure_or_witness_households_sealed_ages_the_arrest_way(
    clean_nats: EmbeddedNats,
) -> None:
    """A seizure in a home and a key witness's household: as the hold user, their sealed
    children's ages open through the same AgeOpener as an arrest's, the toddler gets the
    playbook's early-years check, and once the household is erased they open to nothing and
    every child counts as young."""
    given = ChildrenAges(children=(Child(child_ref="C-1", age=2),))
    operation_id = uuid4()
    async with connected(clean_nats, API) as api, connected(clean_nats, "hold") as hold:
        keys = await HouseholdKeys.open(api.js)
        sealed = await keys.seal("HH-S", given)
        opener = AgeOpener(lambda: hold.js)
        clock = SimulatedClock(AT)
        events = (seizure("HH-S", sealed, operation_id), witness("HH-S", sealed, operation_id))
        commands = [await opener.command_from(e, clock) for e in events]
        await keys.erase("HH-S")
        erased = [await opener.command_from(e, clock) for e in events]
    for command in commands:
        assert isinstance(command, SupportHousehold)
        assert command.ages == sealed and command.opened == OpenedAges(None, {"C-1": 2})
        assert command.children == [{"child_ref": "C-1"}]
    for command in erased:
        assert isinstance(command, SupportHousehold)
        assert command.ages == sealed and command.opened is None

    app = HoldApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        default_playbook=hold_tests_playbook(),
    )
    scope = playbook_scope(operation_id=operation_id)
    app.process_batch(
        [(PutPlaybookInForce(scope, YOUNG_CHILD_AT_HOME, commands[0].meta, caller=CHAIR), None)]
    )
    app.process_batch([(commands[0], Tracking("clear", 1)), (commands[1], Tracking("clear", 2))])
    assert sorted(opened(app)) == [
        "early_years_check_seizure",
        "early_years_check_witness_registered",
    ]
    # After erasure a second operation's household gets the same checks, protectively.
    later = HoldApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        default_playbook=hold_tests_playbook(),
    )
    later.process_batch(
        [(PutPlaybookInForce(scope, YOUNG_CHILD_AT_HOME, erased[0].meta, caller=CHAIR), None)]
    )
    later.process_batch([(erased[0], Tracking("clear", 1)), (erased[1], Tracking("clear", 2))])
    assert sorted(opened(later)) == sorted(opened(app))


def seizure(household_ref: str, ages: str, operation_id: UUID) -> SeizureRecorded:
    return SeizureRecorded(
        event_id=uuid4(),
        occurred_at=AT,
        recorded_at=AT,
        operation_id=operation_id,
        actor=Actor(id="officer-0042", agency="police", role="planner"),
        seizure_id=uuid4(),
        place="Mataura",
        kind="firearm",
        description="pistol",
        quantity=1,
        unit="item",
        household_ref=household_ref,
        children=(AffectedChild(child_ref="C-1"),),
        ages=ages,
    )


def witness(household_ref: str, ages: str, operation_id: UUID) -> WitnessRegistered:
    return WitnessRegistered(
        event_id=uuid4(),
        occurred_at=AT,
        recorded_at=AT,
        operation_id=operation_id,
        actor=Actor(id="officer-0042", agency="police", role="planner"),
        witness_id=uuid4(),
        place="Mataura",
        witness_ref="W-1",
        household_ref=household_ref,
        children=(AffectedChild(child_ref="C-1"),),
        ages=ages,
    )
