"""The base every service application shares: one command path.

A batch of commands (people's, from group commit; or those a tracked consumer makes of its
upstream's events) is decided in order by the handlers the service registers in its table
(command type → function, services/<service>/handlers.py), each seeing the ones before it, and
recorded in one transaction, with the tracking position of the last input where there is one.
That is where the throughput is (DESIGN.md, "Batching is the lever").

Recording is the library's own ``EventSourcedProjection.process_event``, given the batch as its
"domain event": so snapshotting and ``notify`` stay the library's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import Context
from dataclasses import fields
from datetime import datetime
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, ProcessRecorder, Tracking
from eventsourcing.popo import POPOFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.sqlite import SQLiteFactory

from services.runtime.clock import Clock, SystemClock
from services.runtime.dead_letters import DeadLetter, RecordDeadLetter
from services.runtime.deadline_store import (
    DeadlineKind,
    POPODeadlineRecorder,
    PostgresDeadlineRecorder,
    SQLiteDeadlineRecorder,
)
from services.runtime.deciding import CommandBatch, Handlers, Sender, TAggregate, Unit, fetch
from services.runtime.errors import DomainError
from services.runtime.existing import stored_ids
from services.runtime.meta import SERVICE_ACTORS, Meta, MetaAsDict

__all__ = ["Job", "Sender", "ServiceApplication", "Unit", "fetch", "register_chb_transcodings"]

Job = tuple[object, Tracking | None]


def register_chb_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(MetaAsDict())


def record_dead_letter(app: ServiceApplication, c: RecordDeadLetter, unit: Unit) -> None:
    # The command and the event it records carry the same fields: copied by name.
    unit.collect(DeadLetter(**{f.name: getattr(c, f.name) for f in fields(c)}))


class ServiceApplication(EventSourcedProjection[UUID]):
    """A service's event store, and the one way commands are decided into it."""

    # The service's handlers (command type → function); every service also keeps dead letters.
    handlers: ClassVar[Handlers] = {}
    common_handlers: ClassVar[Handlers] = {RecordDeadLetter: record_dead_letter}
    # Aggregates whose next deadline the store keeps in its deadline table, written with their
    # events (services/runtime/deadline_store.py); none: the store has no such table.
    deadline_kinds: ClassVar[tuple[DeadlineKind, ...]] = ()

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env)
        self.clock = clock or SystemClock()

    def construct_recorder(self) -> ProcessRecorder:
        if not self.deadline_kinds:
            return super().construct_recorder()
        # The library's own recorder for the store, with the deadline table beside the events.
        factory: Any = self.factory
        recorder: Any
        if isinstance(factory, SQLiteFactory):
            recorder = SQLiteDeadlineRecorder(datastore=factory.datastore)
        elif isinstance(factory, PostgresFactory):
            prefix = factory.env.name.lower()
            recorder = PostgresDeadlineRecorder(
                datastore=factory.datastore,
                events_table_name=(prefix or "stored") + "_events",
                tracking_table_name=(prefix or "notification") + "_tracking",
            )
        elif isinstance(factory, POPOFactory):
            return POPODeadlineRecorder()
        else:
            raise TypeError(f"no deadline table for {type(factory).__name__}")
        if factory.env_create_table():
            recorder.create_table()
        return cast(ProcessRecorder, recorder)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_chb_transcodings(transcoder)

    def decide(
        self, commands: Sequence[object], contexts: Sequence[Context] | None = None
    ) -> list[object]:
        """People's commands (group commit's step): decided in order and recorded together.
        Each one's outcome is what its handler returned, or the ``DomainError`` that refused
        it (it recorded nothing). Any other failure raises, and nothing is recorded."""
        batch = CommandBatch(commands, each=True, contexts=contexts)
        self._process(batch, None)
        return batch.outcomes

    def decide_one(self, command: object) -> object:
        """One command alone: its outcome, or its refusal raised."""
        outcome = self.decide([command])[0]
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def process_batch(self, jobs: Sequence[Job]) -> int:
        """A tracked consumer's batch: every job's command decided in order and recorded in one
        transaction with the last tracking position; all or nothing (a refusal raises). Returns
        the number of events recorded."""
        trackings = [tracking for _, tracking in jobs if tracking is not None]
        batch = CommandBatch([command for command, _ in jobs], each=False)
        self._process(batch, trackings[-1] if trackings else None)
        return batch.recorded

    def _process(self, batch: CommandBatch, tracking: Tracking | None) -> None:
        # The library's step: policy, record (with the tracking), snapshots, notify. Its types
        # say a domain event and a tracking; a batch and "no tracking" (people's commands) go
        # through it unchanged.
        self.process_event(cast(Any, batch), cast(Tracking, tracking))

    def foreseen(self, command: object) -> Iterable[UUID]:
        """Ids of aggregates deciding ``command`` may look for and create (a service knows
        them from the command: derived from the upstream event). The batch asks the store for
        all of them at once, and a unit answers "not there" for those it does not hold without
        a read each (services/runtime/existing.py). None by default."""
        return ()

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        batch: CommandBatch = domain_event
        foreseen = {i for command in batch.commands for i in self.foreseen(command)}
        absent = foreseen - stored_ids(self.recorder, foreseen) if foreseen else set()
        for index, command in enumerate(batch.commands):
            unit = Unit(self, processing_event, absent)
            context = batch.contexts[index] if batch.contexts else None
            try:
                if context is None:
                    outcome = self._handle(command, unit)
                else:
                    outcome = context.run(self._handle, command, unit)
            except DomainError as refused:
                if not batch.each or unit.spoilt():
                    raise
                batch.outcomes.append(refused)
                continue
            unit.accept()
            batch.outcomes.append(outcome)
        batch.recorded = len(processing_event.events)
        if self.deadline_kinds:
            # The changed items' next deadlines, recorded with their events (deadline_store.py).
            processing_event.saved_kwargs["deadlines"] = [
                kind.row(item)
                for item in processing_event.aggregates.values()
                for kind in self.deadline_kinds
                if isinstance(item, kind.kind)
            ]

    def _handle(self, command: object, unit: Unit) -> object:
        if command is None:  # an upstream event this service has nothing to do with
            return None
        handler = self.handlers.get(type(command)) or self.common_handlers.get(type(command))
        if handler is None:
            raise NotImplementedError(f"{type(self).__name__} has no handler for {type(command)}")
        return handler(self, command, unit)

    def max_tracking_id(self, upstream: str) -> int:
        return self.recorder.max_tracking_id(upstream) or 0

    def stamp(self, operation_id: UUID, sender: Sender) -> Meta:
        """The meta of what a person asks for now: the application stamps it, not the sender."""
        return Meta(
            occurred_at=self.clock.now(),
            operation_id=operation_id,
            actor=sender.actor,
            reason=sender.reason,
        )

    def fire_deadlines_of(
        self, unit: Unit, item_id: UUID, cls: type[Aggregate], now: datetime
    ) -> None:
        """Ask one aggregate with deadlines (a task, a milestone) to fire what is due by now;
        recorded as this service, with the due time as the reason."""
        item: Any = unit.get(item_id, cls)
        if item is None:
            raise LookupError(f"no {cls.__name__} {item_id}")
        meta = Meta(
            occurred_at=now,
            operation_id=item.operation_id,
            actor=SERVICE_ACTORS[self.name],
            reason=f"deadline passed (due {item.due_at.isoformat()})",
        )
        if item.fire_deadlines(now, meta):
            unit.collect(item)

    def find(self, aggregate_id: UUID, cls: type[TAggregate]) -> TAggregate | None:
        """The stored aggregate, or None: for queries, which never see a batch being decided."""
        return Unit(self, ProcessingEvent[UUID]()).get(aggregate_id, cls)
