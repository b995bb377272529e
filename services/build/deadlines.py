"""Build's deadlines: its milestones' escalations (see runtime/deadlines.py), indexed in
build's own store (BuildApplication.deadline_kinds)."""

from __future__ import annotations

from collections.abc import Callable

from services.build.application import MILESTONE_DEADLINES, BuildApplication
from services.build.commands import FireMilestoneDeadlines
from services.build.domain import Milestone
from services.runtime.clock import Clock
from services.runtime.deadlines import DeadlineScheduler, StoredDeadlineIndex


def milestone_scheduler(
    app: BuildApplication, clock: Clock, on_recorded: Callable[[], None] = lambda: None
) -> DeadlineScheduler:
    """Overdue milestones escalate as hold's tasks do: stored, and fired once each."""
    return DeadlineScheduler(
        app,
        clock,
        kind=Milestone,
        finished=MILESTONE_DEADLINES.finished,
        fire=lambda milestone_id, now: FireMilestoneDeadlines(milestone_id=milestone_id, now=now),
        on_recorded=on_recorded,
        index=StoredDeadlineIndex(app, MILESTONE_DEADLINES),
        fire_batch=100,
    )
