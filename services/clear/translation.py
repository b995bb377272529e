"""Clear's stored events as the integration events other services see (the relay publishes
what ``translate`` gives)."""

from __future__ import annotations

from typing import Any

from contracts import (
    AffectedChild,
    ArrestRecorded,
    IntegrationEvent,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    SeizureRecorded,
    WitnessRegistered,
)
from services.clear.domain import Operation
from services.runtime.sealing import is_sealed
from services.runtime.translation import envelope, translate_dead_letter


def translate(domain_event: Any) -> IntegrationEvent | None:
    """A stored clear event as the integration event other services see."""
    e = domain_event
    if isinstance(e, Operation.Planned):
        return OperationPlanned(
            **envelope("clear", e),
            name=e.name,
            district=e.district,
            place=e.place,
            target_group=e.target_group,
            planned_start=e.planned_start,
        )
    if isinstance(e, Operation.Launched):
        return OperationLaunched(
            **envelope("clear", e),
            place=e.place,
            staged_support=tuple(_released(staged) for staged in e.staged),
        )
    if isinstance(e, Operation.ArrestRecorded):
        return ArrestRecorded(
            **envelope("clear", e),
            arrest_id=e.arrest_id,
            place=e.place,
            person_ref=e.person_ref,
            household_ref=e.household_ref,
            charges=tuple(e.charges),
            children=_references(e.children),
            only_carer_present=e.only_carer_present,
            ages=e.ages,
            personal=e.personal,
        )
    if isinstance(e, Operation.SeizureRecorded):
        return SeizureRecorded(
            **envelope("clear", e),
            seizure_id=e.seizure_id,
            place=e.place,
            kind=e.kind,
            description=e.description,
            quantity=e.quantity,
            unit=e.unit,
            household_ref=e.household_ref,
            children=_references(e.children),
            ages=e.ages,
        )
    if isinstance(e, Operation.WitnessRegistered):
        return WitnessRegistered(
            **envelope("clear", e),
            witness_id=e.witness_id,
            place=e.place,
            witness_ref=e.witness_ref,
            household_ref=e.household_ref,
            children=_references(e.children),
            ages=e.ages,
        )
    if isinstance(e, Operation.Concluded):
        return OperationConcluded(
            **envelope("clear", e),
            place=e.place,
            arrests=e.arrests,
            concluded_at=e.meta.occurred_at,
        )
    return translate_dead_letter("clear", e)


def _references(children: list[dict[str, Any]]) -> tuple[AffectedChild, ...]:
    """The children as references only, whatever the stored event holds: events recorded
    before ages were sealed carry each child's age too, and that is never published."""
    return tuple(AffectedChild(child_ref=child["child_ref"]) for child in children)


def _released(staged: dict[str, Any]) -> dict[str, Any]:
    """A staged household as the launch releases it. Its note goes only sealed: a note staged
    before notes were sealed stays in this store and is never published."""
    note = staged.get("note")
    return {**staged, "note": note if is_sealed(note) else None}
