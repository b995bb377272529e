"""Hold's deadlines: its support tasks' reminders and escalations (see runtime/deadlines.py)."""

from __future__ import annotations

from collections.abc import Callable

from services.hold.application import HoldApplication
from services.hold.commands import FireDeadlines
from services.hold.domain import FINISHED, SupportTask
from services.runtime.clock import Clock
from services.runtime.deadlines import DeadlineScheduler


def task_scheduler(
    app: HoldApplication, clock: Clock, on_recorded: Callable[[], None] = lambda: None
) -> DeadlineScheduler:
    return DeadlineScheduler(
        app,
        clock,
        kind=SupportTask,
        finished=lambda task: task.status in FINISHED,
        fire=lambda task_id, now: FireDeadlines(task_id=task_id, now=now),
        on_recorded=on_recorded,
    )
