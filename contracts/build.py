"""Events published by the build service (resilience plans)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.envelope import Contract, IntegrationEvent


class SignedBy(Contract):
    """A person's own act, made with their own token (a sign-off, a vote): who and when. The
    id is an opaque reference, never a name. ``at`` is None only in decisions recorded before
    sign-offs and votes were each the person's own: there the chair's request named them, and
    nothing shows that they agreed."""

    id: str = Field(min_length=1, max_length=128)
    agency: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=64)
    at: AwareDatetime | None = None


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


class PlanGateSignedOff(IntegrationEvent):
    """A leadership-group member signed off a place's move from Hold to Build, themselves:
    the signer is the event's actor."""

    source: ClassVar[str] = "build"
    event_type: Literal["PlanGateSignedOff"] = "PlanGateSignedOff"
    schema_version: Literal[1] = 1
    plan_id: UUID
    place: str


class PlanGateDecided(IntegrationEvent):
    """The chair (the event's actor) moved a place's plan from Hold to Build.

    v2: ``signed_off_by`` is who had signed off, each by their own ``PlanGateSignedOff`` (the
    deciding chair among them, by deciding), no longer names the chair's request claimed."""

    source: ClassVar[str] = "build"
    event_type: Literal["PlanGateDecided"] = "PlanGateDecided"
    schema_version: Literal[2] = 2
    plan_id: UUID
    place: str
    to_phase: Literal["build"]
    signed_off_by: tuple[SignedBy, ...]
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
    """A panel member's vote, a panel decision, a spend or a result; money as exact decimals
    (strings in JSON). ``committed`` / ``spent`` are the programme's running totals after the
    change, given where the change moved them (None: unchanged).

    v2: a vote is a change of its own (``panel_vote_cast``, the voter is the actor), and a
    decision's ``panel`` is who voted for it, each by their own vote, no longer a list the
    request claimed (in ``detail``)."""

    source: ClassVar[str] = "build"
    event_type: Literal["ProgrammeChanged"] = "ProgrammeChanged"
    schema_version: Literal[2] = 2
    programme_id: UUID
    change: Literal["panel_vote_cast", "panel_decided", "spend_recorded", "result_reported"]
    committed: Decimal | None = None
    spent: Decimal | None = None
    amount: Decimal | None = None
    decision: str | None = None
    period: str | None = None
    people_engaged: int | None = None
    cost: Decimal | None = None
    outcome_value: Decimal | None = None
    panel: tuple[SignedBy, ...] = ()
    detail: dict[str, Any] = Field(default_factory=dict)
