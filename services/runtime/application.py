"""The base every event-processing service application shares.

It is the library's ``EventSourcedProjection``: a policy turns each input into new events, and
the events are recorded in the same transaction as the tracking position of the input. What this
adds is batching: several inputs are processed into one transaction carrying the tracking position
of the last, which is where the throughput is (DESIGN.md, "Batching is the lever").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Tracking
from eventsourcing.projection import EventSourcedProjection

from services.runtime.clock import Clock, SystemClock
from services.runtime.dead_letters import DeadLetter, RecordDeadLetter
from services.runtime.meta import SERVICE_ACTORS, Meta, MetaAsDict

TAggregate = TypeVar("TAggregate", bound=Aggregate)

Job = tuple[object, Tracking | None]


def fetch(app: Application[UUID], aggregate_id: UUID, cls: type[TAggregate]) -> TAggregate:
    """The stored aggregate, typed; raises ``AggregateNotFoundError`` if there is none."""
    stored: object = app.repository.get(aggregate_id)
    if not isinstance(stored, cls):
        raise TypeError(f"{aggregate_id} is a {type(stored).__name__}, not a {cls.__name__}")
    return stored


def register_chb_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(MetaAsDict())


class ServiceApplication(EventSourcedProjection[UUID]):
    """A service's event store plus the policy that reacts to its upstream's events."""

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env)
        self.clock = clock or SystemClock()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_chb_transcodings(transcoder)

    def process_batch(self, jobs: Sequence[Job]) -> int:
        """Apply every job's command in order and record all new events in one transaction,
        with the last tracking position. Returns the number of events recorded."""
        trackings = [tracking for _, tracking in jobs if tracking is not None]
        processing_event = ProcessingEvent[UUID](tracking=trackings[-1] if trackings else None)
        for command, _ in jobs:
            self.policy(command, processing_event)
        recordings = self._record(processing_event)
        self._notify(recordings)
        return len(recordings)

    def max_tracking_id(self, upstream: str) -> int:
        return self.recorder.max_tracking_id(upstream) or 0

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if domain_event is None:  # an upstream event this service has nothing to do with
            return
        if isinstance(domain_event, RecordDeadLetter):
            c = domain_event
            processing_event.collect_events(
                DeadLetter(
                    consumer=c.consumer,
                    subject=c.subject,
                    stream_sequence=c.stream_sequence,
                    notification_id=c.notification_id,
                    error=c.error,
                    body=c.body,
                    meta=c.meta,
                )
            )
        else:
            self.handle(domain_event, processing_event)

    def handle(self, command: Any, processing_event: ProcessingEvent[UUID]) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no handler for {type(command)}")

    def fire_deadlines_of(
        self,
        processing_event: ProcessingEvent[UUID],
        item_id: UUID,
        cls: type[Aggregate],
        now: datetime,
    ) -> None:
        """Ask one aggregate with deadlines (a task, a milestone) to fire what is due by now;
        recorded as this service, with the due time as the reason."""
        item: Any = self.get_in_batch(processing_event, item_id, cls)
        if item is None:
            raise LookupError(f"no {cls.__name__} {item_id}")
        meta = Meta(
            occurred_at=now,
            operation_id=item.operation_id,
            actor=SERVICE_ACTORS[self.name],
            reason=f"deadline passed (due {item.due_at.isoformat()})",
        )
        if item.fire_deadlines(now, meta):
            processing_event.collect_events(item)

    def get_in_batch(
        self, processing_event: ProcessingEvent[UUID], aggregate_id: UUID, cls: type[TAggregate]
    ) -> TAggregate | None:
        """The aggregate as this batch has left it so far, else as stored, else ``None``."""
        pending = processing_event.aggregates.get(aggregate_id)
        if pending is not None:
            assert isinstance(pending, cls)
            return pending
        try:
            return fetch(self, aggregate_id, cls)
        except AggregateNotFoundError:
            return None
