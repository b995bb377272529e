"""Events published by the build service (resilience plans)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.envelope import IntegrationEvent


class ResiliencePlanOpened(IntegrationEvent):
    source: ClassVar[str] = "build"
    event_type: Literal["ResiliencePlanOpened"] = "ResiliencePlanOpened"
    schema_version: Literal[1] = 1
    plan_id: UUID
    place: str


class MilestoneScheduled(IntegrationEvent):
    source: ClassVar[str] = "build"
    event_type: Literal["MilestoneScheduled"] = "MilestoneScheduled"
    schema_version: Literal[1] = 1
    milestone_id: UUID
    plan_id: UUID
    place: str
    label: str
    days_after_conclusion: int
    owner_agency: str
    due_at: AwareDatetime
    status: Literal["scheduled"] = "scheduled"


class PlanGateDecided(IntegrationEvent):
    """The leadership group moved a place's plan from Hold to Build: who, when, on what."""

    source: ClassVar[str] = "build"
    event_type: Literal["PlanGateDecided"] = "PlanGateDecided"
    schema_version: Literal[1] = 1
    plan_id: UUID
    place: str
    to_phase: Literal["build"]
    signed_off_by: tuple[dict[str, str], ...]
    evidence: tuple[str, ...]


class MilestoneChanged(IntegrationEvent):
    """A check-in on a milestone, or its escalation when overdue."""

    source: ClassVar[str] = "build"
    event_type: Literal["MilestoneChanged"] = "MilestoneChanged"
    schema_version: Literal[1] = 1
    milestone_id: UUID
    change: Literal["checked_in", "escalated"]
    status: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ProgrammeRegistered(IntegrationEvent):
    source: ClassVar[str] = "build"
    event_type: Literal["ProgrammeRegistered"] = "ProgrammeRegistered"
    schema_version: Literal[1] = 1
    programme_id: UUID
    name: str
    provider: str
    place: str
    focus_area: str
    funding_source: str
    agreement_kind: str


class ProgrammeChanged(IntegrationEvent):
    """A panel decision, a spend or a result; money as exact decimals (strings in JSON).
    ``committed`` / ``spent`` are the programme's running totals after the change, given where
    the change moved them (None: unchanged)."""

    source: ClassVar[str] = "build"
    event_type: Literal["ProgrammeChanged"] = "ProgrammeChanged"
    schema_version: Literal[1] = 1
    programme_id: UUID
    change: Literal["panel_decided", "spend_recorded", "result_reported"]
    committed: Decimal | None = None
    spent: Decimal | None = None
    amount: Decimal | None = None
    decision: str | None = None
    period: str | None = None
    people_engaged: int | None = None
    cost: Decimal | None = None
    outcome_value: Decimal | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
