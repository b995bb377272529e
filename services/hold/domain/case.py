"""Whanau cases and their support tasks (the Hold phase)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.place import place_key
from services.hold.domain.errors import ReasonRequired
from services.runtime.meta import Meta, derived_id


class WhanauCase(Aggregate):
    """One case per household per operation, however many of its adults are arrested."""

    class Opened(Aggregate.Created):
        operation_id: UUID
        household_ref: str
        place: str
        meta: Meta

    class PersonalDetailsRead(Aggregate.Event):
        """Who read the household's personal details, why (in ``meta``), and which."""

        household_ref: str
        fields: list[str]
        meta: Meta

    class ArrestLinked(Aggregate.Event):
        arrest_id: UUID
        children: list[dict[str, Any]]  # references only (older events also held ages)
        children_total: int
        only_carer_present: bool
        meta: Meta
        # The arrest's ages as they came, sealed with the household's key: what the rules
        # decided on, readable by whoever may open them until the household is erased.
        ages: str | None = None

    class TasksAttached(Aggregate.Event):
        """Tasks opened for this household: the case knows its tasks, so Hold can answer
        which agencies may read the household's details (need-to-know) from its own store."""

        task_ids: list[UUID]
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
        self.task_ids: list[UUID] = []

    def attach_tasks(self, task_ids: list[UUID], meta: Meta) -> None:
        new = [t for t in task_ids if t not in self.task_ids]
        if new:
            self._tasks_attached(task_ids=new, meta=meta)

    @event(TasksAttached)
    def _tasks_attached(self, task_ids: list[UUID], meta: Meta) -> None:
        self.task_ids.extend(task_ids)

    def has_arrest(self, arrest_id: UUID) -> bool:
        return arrest_id in self.arrest_ids

    def link_arrest(
        self,
        arrest_id: UUID,
        children: list[dict[str, Any]],
        ages: str | None,
        only_carer_present: bool,
        meta: Meta,
    ) -> None:
        if self.has_arrest(arrest_id):
            return  # the same arrest twice changes nothing
        refs = {*self.child_refs, *(child["child_ref"] for child in children)}
        self._arrest_linked(
            arrest_id=arrest_id,
            children=[{"child_ref": child["child_ref"]} for child in children],
            children_total=len(refs),
            only_carer_present=only_carer_present,
            meta=meta,
            ages=ages,
        )

    @event(ArrestLinked)
    def _arrest_linked(
        self,
        arrest_id: UUID,
        children: list[dict[str, Any]],
        children_total: int,
        only_carer_present: bool,
        meta: Meta,
        ages: str | None = None,
    ) -> None:
        self.arrest_ids.append(arrest_id)
        for child in children:
            if child["child_ref"] not in self.child_refs:
                self.child_refs.append(child["child_ref"])

    def record_read(self, fields: list[str], meta: Meta) -> None:
        if not meta.reason:
            raise ReasonRequired("a read of personal details needs a reason")
        self._personal_details_read(household_ref=self.household_ref, fields=fields, meta=meta)

    @event(PersonalDetailsRead)
    def _personal_details_read(self, household_ref: str, fields: list[str], meta: Meta) -> None:
        pass


class HouseholdCases(Aggregate):
    """Where a household has cases, across operations: what an erasure by a chair whose token
    is limited to places is checked against (every case of the household within its places).
    Ids and places only: the household reference is already an opaque code."""

    class Started(Aggregate.Created):
        household_ref: str
        case_id: UUID
        operation_id: UUID
        place: str
        meta: Meta

    class CaseJoined(Aggregate.Event):
        household_ref: str
        case_id: UUID
        operation_id: UUID
        place: str
        meta: Meta

    @staticmethod
    def create_id(household_ref: str) -> UUID:
        return derived_id("household-cases", household_ref)

    @event(Started)
    def __init__(
        self, household_ref: str, case_id: UUID, operation_id: UUID, place: str, meta: Meta
    ) -> None:
        self.household_ref = household_ref
        self.case_ids = [case_id]
        self.places = [place]

    def join(self, case_id: UUID, operation_id: UUID, place: str, meta: Meta) -> None:
        if case_id not in self.case_ids:
            self._case_joined(
                household_ref=self.household_ref,
                case_id=case_id,
                operation_id=operation_id,
                place=place,
                meta=meta,
            )

    @event(CaseJoined)
    def _case_joined(
        self, household_ref: str, case_id: UUID, operation_id: UUID, place: str, meta: Meta
    ) -> None:
        self.case_ids.append(case_id)
        self.places.append(place)


class HouseholdErasure(Aggregate):
    """The destruction of a household's key, recorded once, with who asked and why.

    The key itself lives outside every store (the front door's key bucket); this event is the
    record that it was destroyed, so the history says when and why a family's details went."""

    class Erased(Aggregate.Created):
        household_ref: str
        meta: Meta

    @staticmethod
    def create_id(household_ref: str) -> UUID:
        return derived_id("household-erasure", household_ref)

    @event(Erased)
    def __init__(self, household_ref: str, meta: Meta) -> None:
        if not meta.reason:
            raise ReasonRequired("an erasure needs a reason")
        self.household_ref = household_ref
        self.erased_at = meta.occurred_at


class PlaybookAdoption(Aggregate):
    """Which playbook is in force for a scope: ``national``, ``place:<name>``, ``operation:<id>``.

    Each adoption is an event holding the whole validated document, so an auditor can see which
    rules were in force when any task was created (every task records the playbook's label).
    """

    class Started(Aggregate.Created):
        scope: str

    class Adopted(Aggregate.Event):
        scope: str
        name: str
        version: int
        document: dict[str, Any]
        meta: Meta

    @staticmethod
    def create_id(scope: str) -> UUID:
        return derived_id("playbook", scope)

    @event(Started)
    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.document: dict[str, Any] | None = None
        self.label: str | None = None

    def adopt(self, name: str, version: int, document: dict[str, Any], meta: Meta) -> None:
        self._adopted(scope=self.scope, name=name, version=version, document=document, meta=meta)

    @event(Adopted)
    def _adopted(
        self, scope: str, name: str, version: int, document: dict[str, Any], meta: Meta
    ) -> None:
        self.document = document
        self.label = f"{name}@v{version}"


def playbook_scope(place: str | None = None, operation_id: UUID | None = None) -> str:
    if operation_id is not None:
        return f"operation:{operation_id}"
    if place is not None:
        return f"place:{place_key(place)}"
    return "national"
