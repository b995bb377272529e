"""Build's deadlines: its milestones' escalations (see runtime/deadlines.py)."""

from __future__ import annotations

from collections.abc import Callable

from services.build.application import BuildApplication
from services.build.commands import FireMilestoneDeadlines
from services.build.domain import Milestone
from services.runtime.clock import Clock
from services.runtime.deadlines import DeadlineScheduler


def milestone_scheduler(
    app: BuildApplication, clock: Clock, on_recorded: Callable[[], None] = lambda: None
) -> DeadlineScheduler:
    """Overdue milestones escalate as hold's tasks do: stored, and fired once each."""
    return DeadlineScheduler(
        app,
        clock,
        kind=Milestone,
        finished=lambda milestone: milestone.status == "met",
        fire=lambda milestone_id, now: FireMilestoneDeadlines(milestone_id=milestone_id, now=now),
        on_recorded=on_recorded,
    )
