"""Keeps deadlines: reminders and escalations fire from stored time, never from a timer.

The schedule lives in the aggregates' own events (due time, offsets, and the steps already
fired): hold's support tasks, build's milestones. This scheduler only keeps an index of each
open one's next deadline, and on each tick asks every one whose deadline has passed to fire
what is due. Each records the steps it fires, so a restart, a crash or a service that was down
for a day fires everything that fell due, once.

Two indexes. Given a ``StoredDeadlineIndex`` (hold and build), it is a table of the service's
own store, written in the transaction of the events that change an item
(services/runtime/deadline_store.py): a start reads nothing old, a tick asks only the rows due
by now, and memory does not grow with the number of open items. Without one (the default, kept
for services that declare no deadline table), it is kept in memory and built at start from the
whole notification log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate

from services.runtime.application import ServiceApplication
from services.runtime.clock import Clock
from services.runtime.commands import with_retry_on_conflict
from services.runtime.deadline_store import DeadlineKind, DeadlineTable, from_micros, to_micros

log = structlog.get_logger()


class StoredDeadlineIndex:
    """The deadline table of the service's store (the application declares ``kind`` in its
    ``deadline_kinds``, so its recorder keeps it). Asks only rows due by now, a batch at a
    time."""

    def __init__(self, app: ServiceApplication, kind: DeadlineKind, batch: int = 500) -> None:
        if kind not in app.deadline_kinds:
            raise ValueError(f"{type(app).__name__} keeps no deadline table for {kind.name}")
        self.app = app
        self.kind = kind
        self.batch = batch
        self.table: DeadlineTable = cast(DeadlineTable, app.recorder)
        self.built = False

    def refresh(self) -> None:
        """Nothing to read: the rows are written with the events. Once, for a store older than
        its table, the items of the log up to the table's making are indexed (the position is
        kept in the table's state, and cleared when done)."""
        if self.built:
            return
        if upto := self.table.backfill_to():
            rebuild_from_log(self.app, self.kind, self.table, upto)
            self.table.mark_backfilled()
        self.built = True

    def due(self, now: datetime) -> Iterator[UUID]:
        """Items whose next deadline is by ``now``, in due order, read a batch at a time."""
        after: tuple[int, UUID] | None = None
        while batch := self.table.due_deadlines(self.kind.name, to_micros(now), after, self.batch):
            yield from (item_id for _, item_id in batch)
            after = batch[-1]

    def overdue(self, now: datetime) -> int:
        return self.table.count_overdue(self.kind.name, to_micros(now))

    def next_deadlines(self) -> dict[UUID, datetime]:
        """Every open item's next deadline (for tests and tools: it reads the whole table)."""
        return {
            r.item_id: from_micros(r.next_at)
            for r in self.table.deadline_rows(self.kind.name)
            if r.next_at is not None
        }


def rebuild_from_log(
    app: ServiceApplication, kind: DeadlineKind, table: DeadlineTable, upto: int
) -> int:
    """Index every item of ``kind`` created in the log up to ``upto``, each read whole from the
    store (its latest version: a row never replaces a newer one). Returns how many."""
    # Any event of the kind names an item (no need to decode it); each is then read whole.
    topic = f"{kind.name}."
    opened: set[UUID] = set()
    position = 0
    while position < upto and (
        notifications := app.recorder.select_notifications(position + 1, 1000, stop=upto)
    ):
        opened.update(UUID(str(n.originator_id)) for n in notifications if topic in n.topic)
        position = notifications[-1].id
    ids = sorted(opened)
    for start in range(0, len(ids), 500):
        items: list[Any] = [app.repository.get(i) for i in ids[start : start + 500]]
        table.upsert_deadlines([kind.row(item) for item in items])
    log.info("deadline index built from the log", kind=kind.name, items=len(ids), upto=upto)
    return len(ids)


class DeadlineScheduler:
    """``kind`` is the aggregate class with deadlines (it has ``next_deadline()``); ``finished``
    says one can never change again; ``fire`` makes the command that fires one's deadlines."""

    def __init__(
        self,
        app: ServiceApplication,
        clock: Clock,
        kind: type[Aggregate],
        finished: Callable[[Any], bool],
        fire: Callable[[UUID, datetime], object],
        on_recorded: Callable[[], None] = lambda: None,
        tick_seconds: float = 1.0,
        index: StoredDeadlineIndex | None = None,
        fire_batch: int = 1,
    ) -> None:
        self.app = app
        self.clock = clock
        self.kind = kind
        self.topic = f"{kind.__name__}."
        self.finished = finished
        self.fire = fire
        self.on_recorded = on_recorded
        self.tick_seconds = tick_seconds
        self.index = index  # None: the index in memory, built from the log
        self.fire_batch = fire_batch  # items fired in one transaction
        self._next_deadlines: dict[UUID, datetime] = {}
        self._open: dict[UUID, Any] = {}
        self.position = 0  # last notification of the service's log read into the index
        self.fired = 0
        self.passes = 0  # completed fire_due passes

    @property
    def next_deadlines(self) -> dict[UUID, datetime]:
        """Each open item's next deadline."""
        if self.index is not None:
            return self.index.next_deadlines()
        return self._next_deadlines

    def refresh(self) -> None:
        """Bring the index up to date with every event of ``kind`` recorded since the last look.

        The events are applied to copies of the open aggregates kept here (the library's own
        ``mutate``), so the index costs no store reads and uses the aggregate's own rules.
        """
        if self.index is not None:
            self.index.refresh()
            return
        touched: set[UUID] = set()
        while notifications := self.app.recorder.select_notifications(self.position + 1, 1000):
            for notification in notifications:
                if self.topic in notification.topic:
                    event: Any = self.app.mapper.to_domain_event(notification)
                    item_id = UUID(str(event.originator_id))
                    known = self._open.get(item_id)
                    if known is None and not isinstance(event, Aggregate.Created):
                        continue  # a finished one (a late note): nothing to schedule
                    item = event.mutate(known)
                    if isinstance(item, self.kind):
                        self._open[item_id] = item
                        touched.add(item_id)
            self.position = notifications[-1].id
        for item_id in touched:
            item = self._open[item_id]
            deadline = item.next_deadline()
            if self.finished(item):  # nothing can happen to it any more: forget it
                self._open.pop(item_id, None)
            if deadline is None:
                self._next_deadlines.pop(item_id, None)
            else:
                self._next_deadlines[item_id] = deadline

    def fire_due(self) -> int:
        """Fire everything due by now; returns how many reminders and escalations fired."""
        self.refresh()
        now = self.clock.now()
        fired = 0
        due: Iterable[UUID]
        if self.index is not None:
            due = self.index.due(now)
        else:
            due = sorted(t for t, at in self._next_deadlines.items() if at <= now)
        chunk: list[UUID] = []
        for item_id in due:
            chunk.append(item_id)
            if len(chunk) >= self.fire_batch:
                fired += self._fire_chunk(chunk, now)
                chunk = []
        if chunk:
            fired += self._fire_chunk(chunk, now)
        if fired:
            self.fired += fired
            log.info("deadlines fired", count=fired, at=now.isoformat())
            self.refresh()
        self.passes += 1
        return fired

    def overdue(self, now: datetime) -> int:
        """How many open items are past their due time (not their next reminder): read from
        the index the last pass left, for a metric, at no cost to the passes."""
        if self.index is not None:
            return self.index.overdue(now)
        # list() copies the index in one step: a pass in another thread may be updating it.
        return sum(
            1
            for item in list(self._open.values())
            if item.due_at <= now and not self.finished(item)
        )

    def _fire_chunk(self, items: list[UUID], now: datetime) -> int:
        """Several items fired in one transaction (a restart after a long stop may find tens of
        thousands due); if that fails, each alone, so one that cannot fire is named by itself."""
        commands = [self.fire(item_id, now) for item_id in items]
        if len(commands) > 1:
            try:
                return int(with_retry_on_conflict(self._firing(*commands)))
            except Exception:  # each again alone: it raises for the one at fault
                log.info("deadlines fired one by one after a batch failed", items=len(items))
        return sum(with_retry_on_conflict(self._firing(command)) for command in commands)

    def _firing(self, *commands: object) -> Callable[[], int]:
        return lambda: self.app.process_batch([(command, None) for command in commands])

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            if await asyncio.to_thread(self.fire_due):
                self.on_recorded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.tick_seconds)
