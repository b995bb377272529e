"""The record of a message a consumer refused."""

from __future__ import annotations

from typing import ClassVar, Literal

from contracts.envelope import IntegrationEvent


class DeadLetterRecorded(IntegrationEvent):
    """A message a service could not process, kept with the reason it was refused.

    Published by whichever service refused the message, on its own subjects, through its own
    outbox, so a dead letter is as durable as any other event. ``body`` is the refused body's
    SHA-256 and size, never its text (it may hold a person's details in the clear); the body
    itself stays in its stream at ``stream_sequence``, to be replayed once the cause is fixed.
    ``operation_id`` is the nil UUID when the message was too broken to tell.
    """

    source: ClassVar[str] = "*"
    event_type: Literal["DeadLetterRecorded"] = "DeadLetterRecorded"
    schema_version: Literal[1] = 1
    consumer: str
    subject: str
    stream_sequence: int | None
    notification_id: int | None
    error: str
    body: str
