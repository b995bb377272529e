"""Hold's transport layer: clear's integration events in, hold's integration events out."""

from __future__ import annotations

from typing import Any

from contracts import (
    ArrestLinkedToCase,
    ArrestRecorded,
    IntegrationEvent,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from services.hold.commands import SupportArrestedPersonsHousehold
from services.hold.domain import SupportTask, WhanauCase
from services.runtime.clock import Clock
from services.runtime.translation import caused_by, envelope, translate_dead_letter


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    """The hold command an upstream event calls for, if any."""
    if isinstance(event, ArrestRecorded):
        return SupportArrestedPersonsHousehold(
            arrest_id=event.arrest_id,
            household_ref=event.household_ref,
            place=event.place,
            arrested_at=event.occurred_at,
            children=[child.model_dump() for child in event.children],
            only_carer_present=event.only_carer_present,
            meta=caused_by(event, "hold", clock),
        )
    return None


def translate(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    if isinstance(e, WhanauCase.Opened):
        return WhanauCaseOpened(
            **envelope("hold", e),
            case_id=e.originator_id,
            household_ref=e.household_ref,
            place=e.place,
        )
    if isinstance(e, WhanauCase.ArrestLinked):
        return ArrestLinkedToCase(
            **envelope("hold", e),
            case_id=e.originator_id,
            arrest_id=e.arrest_id,
            children_total=e.children_total,
            only_carer_present=e.only_carer_present,
        )
    if isinstance(e, SupportTask.Opened):
        return SupportTaskOpened(
            **envelope("hold", e),
            task_id=e.originator_id,
            case_id=e.case_id,
            kind=e.kind,
            lead_agency=e.lead_agency,
            due_at=e.due_at,
        )
    if isinstance(e, SupportTask.Rescheduled):
        return SupportTaskRescheduled(
            **envelope("hold", e),
            task_id=e.originator_id,
            case_id=e.case_id,
            due_at=e.due_at,
        )
    return translate_dead_letter("hold", e)
