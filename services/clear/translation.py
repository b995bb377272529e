"""Clear's stored events as the integration events other services see (the relay publishes
what ``translate`` gives)."""

from __future__ import annotations

from typing import Any

from contracts import (
    AffectedChild,
    ArrestRecorded,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    SeizureRecorded,
    WitnessRegistered,
)
from services.clear.domain import Operation
from services.runtime.sealing import is_sealed
from services.runtime.translation import Translation


def _references(children: list[dict[str, Any]]) -> tuple[AffectedChild, ...]:
    """The children as references only, whatever the stored event holds: events recorded
    before ages were sealed carry each child's age too, and that is never published."""
    return tuple(AffectedChild(child_ref=child["child_ref"]) for child in children)


def _released(staged: dict[str, Any]) -> dict[str, Any]:
    """A staged household as the launch releases it. Its note goes only sealed: a note staged
    before notes were sealed stays in this store and is never published."""
    note = staged.get("note")
    return {**staged, "note": note if is_sealed(note) else None}


def _children(e: Any) -> tuple[AffectedChild, ...]:
    return _references(e.children)


translate = Translation("clear")
translate.rules |= {
    Operation.Planned: translate.by_name(OperationPlanned),
    Operation.Launched: translate.by_name(
        OperationLaunched, staged_support=lambda e: tuple(_released(s) for s in e.staged)
    ),
    Operation.ArrestRecorded: translate.by_name(ArrestRecorded, children=_children),
    Operation.SeizureRecorded: translate.by_name(SeizureRecorded, children=_children),
    Operation.WitnessRegistered: translate.by_name(WitnessRegistered, children=_children),
    Operation.Concluded: translate.by_name(
        OperationConcluded, concluded_at=lambda e: e.meta.occurred_at
    ),
}
