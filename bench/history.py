"""A large, realistic history for the audit benchmark, made by the services' own code.

Operations are planned, launched, given arrests (with children, some the only carer present)
and concluded through ``ClearApplication``; each event clear records is translated as its relay
would and handed to hold and build exactly as their tracked consumers would (same commands,
same tracking rows); every support task is then accepted and completed by its agency. Time is
simulated, so a history of years is made in minutes. No NATS is involved until the
checkpoints, which the notary's own code publishes afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import Tracking

from contracts import SupportTaskOpened
from services.build.application import BuildApplication
from services.build.policy import command_from as build_command_from
from services.clear.application import ClearApplication
from services.clear.commands import Arrest, Conclude, Launch, Plan
from services.clear.domain import ArrestFacts
from services.clear.translation import translate as clear_translate
from services.hold.application import HoldApplication
from services.hold.commands import TakeTaskStep
from services.hold.policy import command_from as hold_command_from
from services.hold.translation import translate as hold_translate
from services.runtime.clock import SimulatedClock
from services.runtime.deciding import Sender
from services.runtime.meta import Actor, Meta
from services.runtime.settings import Settings
from services.runtime.store import store_env

PLACES = [f"Place {n:02d}" for n in range(20)]
PLANNER = Actor(id="planner-1", agency="police", role="planner")
BY_PLANNER = Sender(PLANNER)


class HistoryMaker:
    def __init__(self, settings: Settings, seed: int = 7) -> None:
        self.clock = SimulatedClock(datetime(2024, 1, 1, 5, 0, tzinfo=UTC))
        self.clear = ClearApplication(env=store_env(settings, "clear"), clock=self.clock)
        self.hold = HoldApplication(env=store_env(settings, "hold"), clock=self.clock)
        self.build = BuildApplication(env=store_env(settings, "build"), clock=self.clock)
        self.random = random.Random(seed)
        self.clear_read = self.clear.recorder.max_notification_id() or 0
        self.hold_read = self.hold.recorder.max_notification_id() or 0
        self.operations: list[tuple[UUID, datetime, datetime]] = []

    def total(self) -> int:
        return sum(
            app.recorder.max_notification_id() or 0 for app in (self.clear, self.hold, self.build)
        )

    def close(self) -> None:
        for app in (self.clear, self.hold, self.build):
            app.close()

    def operation(self, arrests: int) -> None:
        """One operation from plan to conclusion, with hold's and build's reactions."""
        tick = self.clock.advance
        place = self.random.choice(PLACES)
        op = self.clear.decide_one(
            Plan("Operation", "Southland", place, "supply network", self.clock.now(), BY_PLANNER)
        )
        assert isinstance(op, UUID)
        tick(timedelta(hours=2))
        self.clear.decide_one(Launch(op, BY_PLANNER))
        launched = self.clock.now()
        for n in range(arrests):
            tick(timedelta(minutes=3))
            household = f"HH-{op.hex[:8]}-{n // 2}"  # two arrests per household
            # References only, as clear receives them: the ages would come sealed by the front
            # door, and no rule of the national playbook reads a child's age.
            children = [
                {"child_ref": f"C-{op.hex[:8]}-{n}-{c}"}
                for c in range(self.random.choice((0, 1, 2, 3)))
            ]
            facts = ArrestFacts(
                person_ref=f"P-{op.hex[:8]}-{n}",
                household_ref=household,
                charges=["supply"],
                children=children,
                only_carer_present=self.random.random() < 0.2,
            )
            self.clear.decide_one(Arrest(op, facts, BY_PLANNER))
            if n % 8 == 7:
                self.follow_clear()
        self.follow_clear()
        self.work_tasks()
        tick(timedelta(hours=6))
        self.clear.decide_one(Conclude(op, BY_PLANNER))
        self.follow_clear()
        self.operations.append((op, launched, self.clock.now()))
        tick(timedelta(hours=16))

    def follow_clear(self) -> None:
        """What hold's and build's tracked consumers would do with clear's new events."""
        while notifications := self.clear.recorder.select_notifications(self.clear_read + 1, 500):
            hold_jobs, build_jobs = [], []
            for notification in notifications:
                event = clear_translate(self.clear.mapper.to_domain_event(notification))
                tracking = Tracking("clear", notification.id)
                if event is not None:
                    hold_jobs.append((hold_command_from(event, self.clock), tracking))
                    build_jobs.append((build_command_from(event, self.clock), tracking))
            self.hold.process_batch(hold_jobs)
            self.build.process_batch(build_jobs)
            self.clear_read = notifications[-1].id

    def work_tasks(self) -> None:
        """Each agency accepts, assigns, starts and completes its new tasks within 80 minutes."""
        opened: list[SupportTaskOpened] = []
        while notifications := self.hold.recorder.select_notifications(self.hold_read + 1, 500):
            for notification in notifications:
                event = hold_translate(self.hold.mapper.to_domain_event(notification))
                if isinstance(event, SupportTaskOpened):
                    opened.append(event)
            self.hold_read = notifications[-1].id
        for action in ("accept", "assign", "start", "complete"):
            self.clock.advance(timedelta(minutes=20))
            jobs = []
            for task in opened:
                agency = task.lead_agency
                actor = Actor(id=f"worker-{agency}", agency=agency, role="agency_worker")
                meta = Meta(
                    occurred_at=self.clock.now(), operation_id=task.operation_id, actor=actor
                )
                outcome = "whanau safe and supported" if action == "complete" else None
                change = TakeTaskStep(
                    task.task_id,
                    action,
                    task.lead_agency,
                    meta,
                    outcome=outcome,
                    worker_ref=actor.id if action == "assign" else None,
                )
                jobs.append((change, None))
            for start in range(0, len(jobs), 200):
                self.hold.process_batch(jobs[start : start + 200])
        self.hold_read = self.hold.recorder.max_notification_id() or 0


def make_history(
    settings: Settings,
    events: int,
    arrests: int = 40,
    progress: Callable[[int], None] = lambda n: None,
) -> HistoryMaker:
    """Add operations until the three stores hold at least ``events`` events in all."""
    maker = HistoryMaker(settings)
    total = maker.total()
    while total < events:
        maker.operation(arrests)
        now = maker.total()
        progress(now - total)
        total = now
    return maker
