"""One notification's life, from queued to delivered or given up, and its retry schedule.

Its id is derived from the upstream event that caused it and the contact point, so deciding it
again lands on the same aggregate. The retry schedule is stored in its events
(``next_attempt_at``), so a restart resumes it where it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import Meta, derived_id

QUEUED, ATTEMPTING, FAILED, DELIVERED, GIVEN_UP = (
    "queued",
    "attempting",
    "failed",
    "delivered",
    "given_up",
)
STATUSES = (QUEUED, ATTEMPTING, FAILED, DELIVERED, GIVEN_UP)
FINISHED = (DELIVERED, GIVEN_UP)


class Notification(Aggregate):
    """One message to one contact point, from queued to delivered or given up.

    ``facts`` is all a message says: the kind of event, the item (task or milestone) by id,
    kind, due time, agency, operation and place, and a link. Never a name, an age, an address
    or a note: the policy builds it from ids and codes only.
    """

    class Queued(Aggregate.Created):
        cause: UUID  # the upstream event (or request) it was decided for
        kind: str
        agency: str  # whose contact point it goes to
        purpose: str
        contact_id: UUID | None  # None: the agency had no contact point for it
        channel: str | None
        item_id: UUID | None  # the task or milestone it is about
        facts: dict[str, Any]
        meta: Meta

    class Attempted(Aggregate.Event):
        attempt: int
        meta: Meta

    class Delivered(Aggregate.Event):
        detail: str  # "HTTP 200", "SMTP 250"
        meta: Meta

    class Failed(Aggregate.Event):
        detail: str  # "HTTP 503", "timeout": never the receiver's text
        next_attempt_at: datetime
        meta: Meta

    class GaveUp(Aggregate.Event):
        why: str  # no_contact_point | contact_disabled | gone | expired
        meta: Meta

    @staticmethod
    def create_id(cause: UUID, kind: str, agency: str, contact_id: UUID | str | None) -> UUID:
        return derived_id("notification", cause, kind, agency, contact_id or "none")

    @event(Queued)
    def __init__(
        self,
        cause: UUID,
        kind: str,
        agency: str,
        purpose: str,
        contact_id: UUID | None,
        channel: str | None,
        item_id: UUID | None,
        facts: dict[str, Any],
        meta: Meta,
    ) -> None:
        self.cause = cause
        self.kind = kind
        self.agency = agency
        self.purpose = purpose
        self.contact_id = contact_id
        self.channel = channel
        self.item_id = item_id
        self.facts = facts
        self.operation_id = meta.operation_id
        self.queued_at = meta.occurred_at
        self.status = QUEUED
        self.attempts = 0
        self.next_attempt_at: datetime | None = meta.occurred_at
        self.delivered_at: datetime | None = None
        self.detail: str | None = None

    def next_deadline(self) -> datetime | None:
        """When it is next to be sent (the dispatcher's index, runtime/deadlines.py)."""
        return None if self.status in FINISHED else self.next_attempt_at

    @property
    def due_at(self) -> datetime:
        # What "overdue" means for a notification: not delivered when it was first to be sent.
        return self.queued_at

    def attempted(self, meta: Meta) -> None:
        self._attempted(attempt=self.attempts + 1, meta=meta)

    @event(Attempted)
    def _attempted(self, attempt: int, meta: Meta) -> None:
        self.attempts = attempt
        self.status = ATTEMPTING

    @event(Delivered)
    def delivered(self, detail: str, meta: Meta) -> None:
        self.status = DELIVERED
        self.delivered_at = meta.occurred_at
        self.detail = detail
        self.next_attempt_at = None

    @event(Failed)
    def failed(self, detail: str, next_attempt_at: datetime, meta: Meta) -> None:
        self.status = FAILED
        self.detail = detail
        self.next_attempt_at = next_attempt_at

    @event(GaveUp)
    def gave_up(self, why: str, meta: Meta) -> None:
        self.status = GIVEN_UP
        self.detail = why
        self.next_attempt_at = None


def retry_delay(attempt: int, jitter: float, base: float, cap: float) -> timedelta:
    """Exponential back-off with jitter: ``base * 2^(attempt-1)`` up to ``cap`` seconds, times
    a jitter factor in [0.5, 1] so receivers that came back are not hit by every sender at once.
    The jitter is drawn by the caller and the result stored, so a replay decides the same."""
    return timedelta(seconds=min(base * 2 ** (attempt - 1), cap) * (0.5 + jitter / 2))
