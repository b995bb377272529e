"""Hold's deadlines: its support tasks' reminders and escalations (see runtime/deadlines.py),
indexed in hold's own store (HoldApplication.deadline_kinds)."""

from __future__ import annotations

from collections.abc import Callable

from services.hold.application import TASK_DEADLINES, HoldApplication
from services.hold.commands import FireDeadlines
from services.hold.domain import SupportTask
from services.runtime.clock import Clock
from services.runtime.deadlines import DeadlineScheduler, StoredDeadlineIndex


def task_scheduler(
    app: HoldApplication, clock: Clock, on_recorded: Callable[[], None] = lambda: None
) -> DeadlineScheduler:
    return DeadlineScheduler(
        app,
        clock,
        kind=SupportTask,
        finished=TASK_DEADLINES.finished,
        fire=lambda task_id, now: FireDeadlines(task_id=task_id, now=now),
        on_recorded=on_recorded,
        index=StoredDeadlineIndex(app, TASK_DEADLINES),
        fire_batch=100,
    )
