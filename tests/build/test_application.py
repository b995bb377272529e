"""The build application: a resilience plan per place, four milestones per concluded
operation, on an in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

from contracts import (
    IntegrationEvent,
    MilestoneScheduled,
    OperationConcluded,
    PlanGateDecided,
    PlanGateSignedOff,
    ResiliencePlanOpened,
    parse_event,
)
from contracts.envelope import Actor as ActorContract
from contracts.indicators import IndicatorImportStarted
from services.build.application import BuildApplication, PlanNotFound
from services.build.commands import MoveToBuild, SignOffMove
from services.build.domain import IndicatorImport, ResiliencePlan
from services.build.policy import command_from
from services.build.translation import translate
from services.runtime.authorization import Caller
from services.runtime.clock import SimulatedClock
from services.runtime.dead_letters import NIL
from services.runtime.meta import Actor, Meta

pytestmark = pytest.mark.application

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
CONCLUDED_AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DAYS = [30, 90, 180, 365]


def concluded(place: str, operation_id: UUID | None = None, at: datetime = CONCLUDED_AT):
    return OperationConcluded(
        event_id=uuid4(),
        occurred_at=at,
        recorded_at=at,
        operation_id=operation_id or uuid4(),
        actor=ActorContract(id="officer-0042", agency="police", role="planner"),
        place=place,
        arrests=12,
        concluded_at=at,
    )


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(CONCLUDED_AT + timedelta(minutes=3))


@pytest.fixture
def app(clock: SimulatedClock) -> BuildApplication:
    return BuildApplication(env=POPO, clock=clock)


def process(app: BuildApplication, clock: SimulatedClock, *events: OperationConcluded) -> int:
    start = app.max_tracking_id("clear") + 1
    return app.process_batch(
        [(command_from(e, clock), Tracking("clear", start + i)) for i, e in enumerate(events)]
    )


def published(app: BuildApplication) -> list[IntegrationEvent]:
    """What the relay would publish: every stored event but a plan's OperationLinked, which
    stays inside build (the milestones carry the plan id)."""
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    events = []
    for notification in notifications:
        domain_event = app.mapper.to_domain_event(notification)
        event = translate(domain_event)
        if event is None:
            assert isinstance(domain_event, ResiliencePlan.OperationLinked)
        else:
            events.append(event)
    return events


def milestones(events: list[Any], operation_id: UUID) -> list[MilestoneScheduled]:
    return [
        e for e in events if isinstance(e, MilestoneScheduled) and e.operation_id == operation_id
    ]


def test_a_concluded_operation_opens_a_plan_with_four_milestones(
    app: BuildApplication, clock: SimulatedClock
):
    """The place's resilience plan opens, and four milestones are scheduled 30, 90, 180 and
    365 days after the operation concluded, each caused by the conclusion and correlated with
    the operation."""
    event = concluded("Ōpōtiki")
    assert process(app, clock, event) == 6  # opened, linked, 4 milestones

    events = published(app)
    plans = [e for e in events if isinstance(e, ResiliencePlanOpened)]
    assert [(p.plan_id, p.place) for p in plans] == [
        (ResiliencePlan.create_id("Ōpōtiki"), "Ōpōtiki")
    ]
    scheduled = milestones(events, event.operation_id)
    assert [m.days_after_conclusion for m in scheduled] == DAYS
    assert [m.due_at for m in scheduled] == [CONCLUDED_AT + timedelta(days=d) for d in DAYS]
    assert {m.plan_id for m in scheduled} == {plans[0].plan_id}
    assert all(m.status == "scheduled" and m.owner_agency for m in scheduled)
    for e in events:
        assert e.causation_id == event.event_id
        assert e.operation_id == event.operation_id
        assert e.actor.id == "build-service"
        assert e.occurred_at == clock.now()
        assert parse_event(e.model_dump_json()) == e
    assert app.get_plan("Ōpōtiki").operation_ids == [event.operation_id]


def test_a_second_operation_in_the_same_place_joins_its_plan(
    app: BuildApplication, clock: SimulatedClock
):
    """Another operation concluded in the same place (whatever the case or spacing of its
    name) links to the same plan and adds its own four milestones, timed from its own
    conclusion."""
    first = concluded("Mataura")
    later = CONCLUDED_AT + timedelta(days=200)
    second = concluded("  mATAURA ", at=later)
    process(app, clock, first)
    assert process(app, clock, second) == 5  # plan linked + 4 milestones; no second plan

    events = published(app)
    assert len([e for e in events if isinstance(e, ResiliencePlanOpened)]) == 1
    plan = app.get_plan("mataura")
    assert plan.operation_ids == [first.operation_id, second.operation_id]
    assert plan.place == "Mataura"
    scheduled = milestones(events, second.operation_id)
    assert [m.due_at for m in scheduled] == [later + timedelta(days=d) for d in DAYS]
    assert {m.plan_id for m in scheduled} == {plan.id}
    assert len(milestones(events, first.operation_id)) == 4


def test_different_places_get_different_plans(app: BuildApplication, clock: SimulatedClock):
    """Operations in two places open two plans."""
    process(app, clock, concluded("Gore"), concluded("Invercargill"))
    places = sorted(e.place for e in published(app) if isinstance(e, ResiliencePlanOpened))
    assert places == ["Gore", "Invercargill"]


def test_the_same_conclusion_twice_adds_nothing(app: BuildApplication, clock: SimulatedClock):
    """The same OperationConcluded seen again (in the same batch or a later one) records no
    further events."""
    event = concluded("Wairoa")
    assert process(app, clock, event, event) == 6
    assert process(app, clock, event) == 0
    assert len(published(app)) == 5
    assert app.max_tracking_id("clear") == 3


def test_other_clear_events_are_tracked_and_ignored(app: BuildApplication):
    """An upstream event build does not act on moves the tracking position and records
    nothing."""
    assert app.process_batch([(None, Tracking("clear", 4))]) == 0
    assert app.recorder.max_tracking_id("clear") == 4
    assert published(app) == []


CHAIR = Caller("lg-1", "leadership_group_chair", "iwi")
MEMBERS = (
    Caller("lg-2", "leadership_group_member", "police"),
    Caller("lg-3", "leadership_group_member", "msd"),
)


def command_meta(who: Caller, clock: SimulatedClock) -> Meta:
    return Meta(clock.now(), NIL, Actor(who.subject, who.agency, who.role))


def test_sign_offs_and_the_gate_decision_are_published_naming_each_person(
    app: BuildApplication, clock: SimulatedClock
):
    """Each member's sign-off is published as their own event (the person is its actor); a
    second sign-off by the same person publishes nothing; the decision names who signed off,
    the deciding chair among them."""
    process(app, clock, concluded("Ōpōtiki"))
    for who in (*MEMBERS, MEMBERS[0]):
        app.process_batch([(SignOffMove("ōpōtiki", who, command_meta(who, clock)), None)])
    evidence = ["wastewater meth load halved and stayed down"]
    app.process_batch([(MoveToBuild("Ōpōtiki", evidence, CHAIR, command_meta(CHAIR, clock)), None)])

    events = published(app)
    signed = [e for e in events if isinstance(e, PlanGateSignedOff)]
    assert [e.actor.id for e in signed] == ["lg-2", "lg-3"]
    (decided,) = [e for e in events if isinstance(e, PlanGateDecided)]
    assert decided.schema_version == 2 and decided.actor.id == "lg-1"
    assert [(s.id, s.agency) for s in decided.signed_off_by] == [
        ("lg-2", "police"),
        ("lg-3", "msd"),
        ("lg-1", "iwi"),
    ]
    assert decided.evidence == tuple(evidence)
    for e in (*signed, decided):
        assert parse_event(e.model_dump_json()) == e


def test_a_plan_outside_the_tokens_places_is_answered_as_a_place_without_one(
    app: BuildApplication, clock: SimulatedClock
):
    """Word for word, in the caller's own spelling: the refusal does not reveal the plan."""
    process(app, clock, concluded("Ōpōtiki"))
    gore = Caller("lg-2", "leadership_group_member", "police", places=("Gore",))
    answers = []
    for place in ("ōpōtiki", "Nowhere"):
        with pytest.raises(PlanNotFound) as refused:
            app.process_batch([(SignOffMove(place, gore, command_meta(gore, clock)), None)])
        answers.append(str(refused.value).replace(place, "<place>"))
    assert answers[0] == answers[1]
    assert app.get_plan("Ōpōtiki").sign_offs == {}


def test_events_stored_before_sign_offs_and_starters_still_read_and_publish(
    clock: SimulatedClock,
):
    """A gate decision recorded when the chair's request named the signatories publishes them
    without a time (nothing shows they agreed); an import started before its starter was
    recorded belongs to the agency of the person who started it."""
    meta = command_meta(CHAIR, clock)
    claimed = {"id": "m-2", "agency": "police", "role": "leadership_group_member"}
    old_gate = ResiliencePlan.GateDecided(
        originator_id=uuid4(),
        originator_version=2,
        timestamp=clock.now(),
        place="Ōpōtiki",
        to_phase="build",
        signed_off_by=[claimed],
        evidence=["halved"],
        meta=meta,
    )
    decided = translate(old_gate)
    assert isinstance(decided, PlanGateDecided)
    assert [(s.id, s.at) for s in decided.signed_off_by] == [("m-2", None)]
    assert parse_event(decided.model_dump_json()) == decided

    started = IndicatorImport.Started(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=clock.now(),
        originator_topic=get_topic(IndicatorImport),
        file_name="loads.csv",
        rows_expected=1,
        meta=Meta(clock.now(), NIL, Actor("l-1", "msd", "agency_lead")),
    )
    batch = started.mutate(None)
    assert isinstance(batch, IndicatorImport) and batch.starter_agency == "msd"
    published_start = translate(started)
    assert isinstance(published_start, IndicatorImportStarted)
    assert published_start.starter_agency == "msd"
