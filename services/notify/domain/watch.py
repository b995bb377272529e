"""An offer watched until one of the agency's contact points accepted it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import Meta, derived_id


class OfferWatch(Aggregate):
    """An offer of a task to an agency, watched until one of its contact points accepted it:
    at ``deadline`` without a delivery, the leadership group is told (once)."""

    class Started(Aggregate.Created):
        cause: UUID  # the offer
        task_id: UUID
        agency: str
        deadline: datetime
        notification_ids: list[UUID]
        # What the task's message said, as the watch started; None since the item's own facts
        # (ItemFacts) are read when it settles instead of being stored twice.
        facts: dict[str, Any] | None
        meta: Meta

    class Settled(Aggregate.Event):
        delivered: bool  # False: nobody accepted it in time, and the leadership group was told
        meta: Meta

    @staticmethod
    def create_id(cause: UUID) -> UUID:
        return derived_id("offer-watch", cause)

    @event(Started)
    def __init__(
        self,
        cause: UUID,
        task_id: UUID,
        agency: str,
        deadline: datetime,
        notification_ids: list[UUID],
        meta: Meta,
        facts: dict[str, Any] | None = None,
    ) -> None:
        self.cause = cause
        self.task_id = task_id
        self.agency = agency
        self.deadline = deadline
        self.notification_ids = notification_ids
        self.facts = facts
        self.operation_id = meta.operation_id
        self.settled = False

    @property
    def due_at(self) -> datetime:
        return self.deadline

    def next_deadline(self) -> datetime | None:
        return None if self.settled else self.deadline

    @event(Settled)
    def settle(self, delivered: bool, meta: Meta) -> None:
        self.settled = True
