"""Build's milestone deadlines are indexed in its store, written with the events: the index
equals one rebuilt from the log before and after the escalations fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from contracts import OperationConcluded
from contracts.envelope import Actor as ActorContract
from services.build.application import MILESTONE_DEADLINES, BuildApplication
from services.build.deadlines import milestone_scheduler
from services.build.domain import Milestone
from services.build.policy import command_from
from services.runtime.clock import SimulatedClock
from services.runtime.deadlines import DeadlineScheduler

pytestmark = pytest.mark.application

CONCLUDED_AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def concluded(place: str) -> OperationConcluded:
    return OperationConcluded(
        event_id=uuid4(),
        occurred_at=CONCLUDED_AT,
        recorded_at=CONCLUDED_AT,
        operation_id=uuid4(),
        actor=ActorContract(id="officer-0042", agency="police", role="planner"),
        place=place,
        arrests=12,
        concluded_at=CONCLUDED_AT,
    )


def rebuilt_from_log(app: BuildApplication) -> dict[object, datetime]:
    scheduler = DeadlineScheduler(
        app, app.clock, Milestone, MILESTONE_DEADLINES.finished, fire=print
    )
    scheduler.refresh()
    return dict(scheduler.next_deadlines)


def test_milestones_are_indexed_with_their_events_and_escalate_once() -> None:
    clock = SimulatedClock(CONCLUDED_AT + timedelta(minutes=3))
    app = BuildApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    places = ["Ōpōtiki", "Mataura", "Kaitāia"]
    app.process_batch(
        [
            (command_from(concluded(p), clock), Tracking("clear", n + 1))
            for n, p in enumerate(places)
        ]
    )
    scheduler = milestone_scheduler(app, clock)
    assert len(scheduler.next_deadlines) == 4 * len(places)
    assert scheduler.next_deadlines == rebuilt_from_log(app)
    clock.advance(timedelta(days=100))
    assert scheduler.overdue(clock.now()) == 2 * len(places), "the 30- and 90-day milestones"
    fired = scheduler.fire_due()
    assert fired > 0
    assert scheduler.fire_due() == 0
    assert scheduler.next_deadlines == rebuilt_from_log(app)
    assert all(at > clock.now() for at in scheduler.next_deadlines.values())
