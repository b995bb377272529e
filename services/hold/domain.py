"""Whanau cases and their support tasks (the Hold phase)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import Meta, derived_id


class WhanauCase(Aggregate):
    """One case per household per operation, however many of its adults are arrested."""

    class Opened(Aggregate.Created):
        operation_id: UUID
        household_ref: str
        place: str
        meta: Meta

    class ArrestLinked(Aggregate.Event):
        arrest_id: UUID
        children: list[dict[str, Any]]
        children_total: int
        only_carer_present: bool
        meta: Meta

    @staticmethod
    def create_id(operation_id: UUID, household_ref: str) -> UUID:
        return derived_id("case", operation_id, household_ref)

    @event(Opened)
    def __init__(self, operation_id: UUID, household_ref: str, place: str, meta: Meta) -> None:
        self.operation_id = operation_id
        self.household_ref = household_ref
        self.place = place
        self.arrest_ids: list[UUID] = []
        self.child_refs: list[str] = []

    def has_arrest(self, arrest_id: UUID) -> bool:
        return arrest_id in self.arrest_ids

    def link_arrest(
        self, arrest_id: UUID, children: list[dict[str, Any]], only_carer_present: bool, meta: Meta
    ) -> None:
        if self.has_arrest(arrest_id):
            return  # the same arrest twice changes nothing
        refs = {*self.child_refs, *(child["child_ref"] for child in children)}
        self._arrest_linked(
            arrest_id=arrest_id,
            children=children,
            children_total=len(refs),
            only_carer_present=only_carer_present,
            meta=meta,
        )

    @event(ArrestLinked)
    def _arrest_linked(
        self,
        arrest_id: UUID,
        children: list[dict[str, Any]],
        children_total: int,
        only_carer_present: bool,
        meta: Meta,
    ) -> None:
        self.arrest_ids.append(arrest_id)
        for child in children:
            if child["child_ref"] not in self.child_refs:
                self.child_refs.append(child["child_ref"])


class SupportTask(Aggregate):
    """A piece of support work with a lead agency and a due time."""

    class Opened(Aggregate.Created):
        case_id: UUID
        kind: str
        lead_agency: str
        due_at: datetime
        meta: Meta

    class Rescheduled(Aggregate.Event):
        case_id: UUID
        due_at: datetime
        meta: Meta

    @staticmethod
    def create_id(case_id: UUID, kind: str) -> UUID:
        return derived_id("task", case_id, kind)

    @event(Opened)
    def __init__(
        self,
        case_id: UUID,
        kind: str,
        lead_agency: str,
        due_at: datetime,
        meta: Meta,
    ) -> None:
        self.case_id = case_id
        self.operation_id = meta.operation_id
        self.kind = kind
        self.lead_agency = lead_agency
        self.due_at = due_at
        self.status = "open"

    def bring_forward(self, due_at: datetime, meta: Meta) -> None:
        """Only ever earlier: whichever arrest comes first, the tightest deadline wins."""
        if due_at < self.due_at:
            self._rescheduled(case_id=self.case_id, due_at=due_at, meta=meta)

    @event(Rescheduled)
    def _rescheduled(self, case_id: UUID, due_at: datetime, meta: Meta) -> None:
        self.due_at = due_at
