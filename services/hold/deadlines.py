"""Keeps hold's deadlines: reminders and escalations fire from stored time, never from a timer.

The schedule lives in the tasks' own events (due time, reminder and escalation offsets, and the
steps already fired). This scheduler only keeps an index of each open task's next deadline,
built from hold's own notification log, and on each tick asks every task whose deadline has
passed to fire what is due. A task records each step it fires, so a restart, a crash or a hold
that was down for a day fires everything that fell due meanwhile, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from services.hold.application import HoldApplication
from services.hold.commands import FireDeadlines
from services.hold.task import FINISHED, SupportTask
from services.runtime.clock import Clock
from services.runtime.commands import with_retry_on_conflict

log = structlog.get_logger()

TASK_TOPIC = "SupportTask."


class DeadlineScheduler:
    def __init__(
        self,
        app: HoldApplication,
        clock: Clock,
        on_recorded: Callable[[], None] = lambda: None,
        tick_seconds: float = 1.0,
    ) -> None:
        self.app = app
        self.clock = clock
        self.on_recorded = on_recorded
        self.tick_seconds = tick_seconds
        self.next_deadlines: dict[UUID, datetime] = {}
        self._open_tasks: dict[UUID, SupportTask] = {}
        self.position = 0  # last notification of hold's log read into the index
        self.fired = 0
        self.passes = 0  # completed fire_due passes

    def refresh(self) -> None:
        """Bring the index up to date with every task event recorded since the last look.

        The events are applied to copies of the open tasks kept here (the library's own
        ``mutate``), so the index costs no store reads and uses the task's own deadline rules.
        """
        touched: set[UUID] = set()
        while notifications := self.app.recorder.select_notifications(self.position + 1, 1000):
            for notification in notifications:
                if TASK_TOPIC in notification.topic:
                    event: Any = self.app.mapper.to_domain_event(notification)
                    task_id = UUID(str(event.originator_id))
                    known = self._open_tasks.get(task_id)
                    if known is None and not isinstance(event, SupportTask.Opened):
                        continue  # a finished task (a late note): nothing to schedule
                    task = event.mutate(known)
                    if isinstance(task, SupportTask):
                        self._open_tasks[task_id] = task
                        touched.add(task_id)
            self.position = notifications[-1].id
        for task_id in touched:
            task = self._open_tasks[task_id]
            deadline = task.next_deadline()
            if task.status in FINISHED:  # nothing can happen to it any more: forget it
                self._open_tasks.pop(task_id, None)
            if deadline is None:
                self.next_deadlines.pop(task_id, None)
            else:
                self.next_deadlines[task_id] = deadline

    def fire_due(self) -> int:
        """Fire everything due by now; returns how many reminders and escalations fired."""
        self.refresh()
        now = self.clock.now()
        fired = 0
        for task_id in sorted(t for t, at in self.next_deadlines.items() if at <= now):
            fired += with_retry_on_conflict(self._firing(FireDeadlines(task_id=task_id, now=now)))
        if fired:
            self.fired += fired
            log.info("deadlines fired", count=fired, at=now.isoformat())
            self.refresh()
        self.passes += 1
        return fired

    def _firing(self, command: FireDeadlines) -> Callable[[], int]:
        return lambda: self.app.process_batch([(command, None)])

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            if await asyncio.to_thread(self.fire_due):
                self.on_recorded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.tick_seconds)
