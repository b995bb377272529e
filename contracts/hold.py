"""Events published by the hold service (whanau support)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.agencies import AgencyKind
from contracts.envelope import Code, IntegrationEvent

TaskStatus = Literal[
    "offered", "accepted", "assigned", "in_progress", "completed", "closed", "unplaced"
]
# A task in one of these takes no further step: hold's task decides so, the views count by it.
FINISHED_STATUSES: tuple[TaskStatus, ...] = ("completed", "closed")


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


class CaseTasksAttached(IntegrationEvent):
    """Tasks opened for a household's case: Hold's own record of which tasks are the
    household's, from which it decides who may read the household's details."""

    source: ClassVar[str] = "hold"
    event_type: Literal["CaseTasksAttached"] = "CaseTasksAttached"
    schema_version: Literal[1] = 1
    case_id: UUID
    task_ids: tuple[UUID, ...]


class HouseholdCaseJoined(IntegrationEvent):
    """A household has a case in this operation and place: Hold's record of where each
    household's cases are, against which an erasure by a chair limited to places is checked."""

    source: ClassVar[str] = "hold"
    event_type: Literal["HouseholdCaseJoined"] = "HouseholdCaseJoined"
    schema_version: Literal[1] = 1
    household_ref: str
    case_id: UUID
    place: str


class SupportTaskOpened(IntegrationEvent):
    source: ClassVar[str] = "hold"
    event_type: Literal["SupportTaskOpened"] = "SupportTaskOpened"
    schema_version: Literal[1] = 1
    task_id: UUID
    case_id: UUID
    kind: Code
    lead_agency: Code
    fallback_agencies: tuple[Code, ...] = ()
    due_at: AwareDatetime
    reminders_before_seconds: tuple[int, ...] = ()
    escalations_after_seconds: tuple[int, ...] = ()
    # Which playbook (name@vN) and which of its rules created the task: why it exists.
    playbook: str
    rule_id: str


class SupportTaskRescheduled(IntegrationEvent):
    """A task's due time was brought forward (e.g. a second carer of the children was arrested)."""

    source: ClassVar[str] = "hold"
    event_type: Literal["SupportTaskRescheduled"] = "SupportTaskRescheduled"
    schema_version: Literal[1] = 1
    task_id: UUID
    case_id: UUID
    due_at: AwareDatetime


class SupportTaskChanged(IntegrationEvent):
    """A step in a task's life: its new status, who holds it, and the detail of the step."""

    source: ClassVar[str] = "hold"
    event_type: Literal["SupportTaskChanged"] = "SupportTaskChanged"
    schema_version: Literal[1] = 1
    task_id: UUID
    change: Literal[
        "accepted",
        "declined",
        "offered",
        "unplaced",
        "assigned",
        "started",
        "consent_recorded",
        "completed",
        "closed",
        "note_added",
        "reminded",
        "escalated",
    ]
    status: TaskStatus | None
    agency: Code | None
    worker_ref: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class PlaybookAdopted(IntegrationEvent):
    """A playbook was put in force for a scope (national, a place, or one operation)."""

    source: ClassVar[str] = "hold"
    event_type: Literal["PlaybookAdopted"] = "PlaybookAdopted"
    schema_version: Literal[1] = 1
    scope: str
    name: str
    version: int
    rules: int


class PersonalDetailsRead(IntegrationEvent):
    """Someone read a household's personal details: who (the actor), why (the reason), what
    (the fields) and when. The answer to "who looked at this family's record"."""

    source: ClassVar[str] = "hold"
    event_type: Literal["PersonalDetailsRead"] = "PersonalDetailsRead"
    schema_version: Literal[1] = 1
    case_id: UUID
    household_ref: str
    fields: tuple[str, ...]


class HouseholdErased(IntegrationEvent):
    """A household's key was destroyed: its personal details, sealed with that key wherever
    they were stored, can no longer be read. Everything else in the history stays."""

    source: ClassVar[str] = "hold"
    event_type: Literal["HouseholdErased"] = "HouseholdErased"
    schema_version: Literal[1] = 1
    household_ref: str


AgencyField = Literal["name", "kind", "places"]


class AgencyRegistered(IntegrationEvent):
    """An agency joined the register: who added it and why are the actor and the reason.
    ``places`` are the places it serves (none: national)."""

    source: ClassVar[str] = "hold"
    event_type: Literal["AgencyRegistered"] = "AgencyRegistered"
    schema_version: Literal[1] = 1
    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind
    places: tuple[str, ...] = ()


class AgencyChanged(IntegrationEvent):
    """An agency's entry was changed: its whole entry after the change, and which fields
    changed (who and why are the actor and the reason)."""

    source: ClassVar[str] = "hold"
    event_type: Literal["AgencyChanged"] = "AgencyChanged"
    schema_version: Literal[1] = 1
    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind
    places: tuple[str, ...] = ()
    changed: tuple[AgencyField, ...] = Field(min_length=1)
