"""A refused message, kept as an event in the store of the service that refused it.

Recording it as an event (in the same transaction as the tracking position, when the message had
one) means the refusal is as durable as any other effect, and the relay publishes it like any
other event: nothing is silently dropped, and nothing is dead-lettered twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import Meta

NIL = UUID(int=0)


@dataclass(frozen=True)
class RecordDeadLetter:
    """Keep a message we cannot process, with the reason."""

    consumer: str
    subject: str
    stream_sequence: int | None
    notification_id: int | None
    error: str
    body: str
    meta: Meta


class DeadLetter(Aggregate):
    class Recorded(Aggregate.Created):
        consumer: str
        subject: str
        stream_sequence: int | None
        notification_id: int | None
        error: str
        body: str
        meta: Meta

    @event(Recorded)
    def __init__(
        self,
        consumer: str,
        subject: str,
        stream_sequence: int | None,
        notification_id: int | None,
        error: str,
        body: str,
        meta: Meta,
    ) -> None:
        self.consumer = consumer
        self.subject = subject
        self.stream_sequence = stream_sequence
        self.notification_id = notification_id
        self.error = error
        self.body = body
        self.meta = meta
