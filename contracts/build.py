"""Events published by the build service (resilience plans)."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime

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
