"""Resilience plans per place and their milestones (the Build phase)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import Meta, derived_id


class ResiliencePlan(Aggregate):
    """One plan per place, linked to every operation concluded there."""

    class Opened(Aggregate.Created):
        place: str
        meta: Meta

    class OperationLinked(Aggregate.Event):
        operation_id: UUID
        concluded_at: datetime
        meta: Meta

    @staticmethod
    def create_id(place: str) -> UUID:
        return derived_id("plan", place.strip().casefold())

    @event(Opened)
    def __init__(self, place: str, meta: Meta) -> None:
        self.place = place
        self.operation_ids: list[UUID] = []

    def link_operation(self, operation_id: UUID, concluded_at: datetime, meta: Meta) -> bool:
        if operation_id in self.operation_ids:
            return False
        self._operation_linked(operation_id=operation_id, concluded_at=concluded_at, meta=meta)
        return True

    @event(OperationLinked)
    def _operation_linked(self, operation_id: UUID, concluded_at: datetime, meta: Meta) -> None:
        self.operation_ids.append(operation_id)


class Milestone(Aggregate):
    class Scheduled(Aggregate.Created):
        plan_id: UUID
        operation_id: UUID
        place: str
        label: str
        days_after_conclusion: int
        owner_agency: str
        due_at: datetime
        meta: Meta

    @staticmethod
    def create_id(plan_id: UUID, operation_id: UUID, days_after_conclusion: int) -> UUID:
        return derived_id("milestone", plan_id, operation_id, days_after_conclusion)

    @event(Scheduled)
    def __init__(
        self,
        plan_id: UUID,
        operation_id: UUID,
        place: str,
        label: str,
        days_after_conclusion: int,
        owner_agency: str,
        due_at: datetime,
        meta: Meta,
    ) -> None:
        self.plan_id = plan_id
        self.operation_id = operation_id
        self.place = place
        self.label = label
        self.days_after_conclusion = days_after_conclusion
        self.owner_agency = owner_agency
        self.due_at = due_at
        self.status = "scheduled"
