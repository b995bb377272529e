"""Events published by the hold service (whanau support)."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime

from contracts.envelope import IntegrationEvent

TaskKind = Literal["child_safety_check", "family_liaison_contact", "needs_assessment"]


class WhanauCaseOpened(IntegrationEvent):
    source: ClassVar[str] = "hold"
    event_type: Literal["WhanauCaseOpened"] = "WhanauCaseOpened"
    schema_version: Literal[1] = 1
    case_id: UUID
    household_ref: str
    place: str


class ArrestLinkedToCase(IntegrationEvent):
    """An arrest joined a household's case (the first one, or a further carer's)."""

    source: ClassVar[str] = "hold"
    event_type: Literal["ArrestLinkedToCase"] = "ArrestLinkedToCase"
    schema_version: Literal[1] = 1
    case_id: UUID
    arrest_id: UUID
    children_total: int
    only_carer_present: bool


class SupportTaskOpened(IntegrationEvent):
    source: ClassVar[str] = "hold"
    event_type: Literal["SupportTaskOpened"] = "SupportTaskOpened"
    schema_version: Literal[1] = 1
    task_id: UUID
    case_id: UUID
    kind: TaskKind
    lead_agency: str
    due_at: AwareDatetime


class SupportTaskRescheduled(IntegrationEvent):
    """A task's due time was brought forward (e.g. a second carer of the children was arrested)."""

    source: ClassVar[str] = "hold"
    event_type: Literal["SupportTaskRescheduled"] = "SupportTaskRescheduled"
    schema_version: Literal[1] = 1
    task_id: UUID
    case_id: UUID
    due_at: AwareDatetime
