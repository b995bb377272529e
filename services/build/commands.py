"""What build is asked to do (the transport layer builds these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.runtime.meta import Meta


@dataclass(frozen=True)
class PlanFollowUp:
    """An operation concluded in a place: put its follow-up on the place's resilience plan."""

    place: str
    concluded_at: datetime
    meta: Meta


@dataclass(frozen=True)
class DecideGate:
    """The leadership group moves a place's plan from Hold to Build."""

    place: str
    signed_off_by: list[dict[str, str]]
    evidence: list[str]
    meta: Meta


@dataclass(frozen=True)
class AddMilestone:
    """The leadership group's own milestone on a place's plan."""

    place: str
    label: str
    owner_agency: str
    due_at: datetime
    meta: Meta


@dataclass(frozen=True)
class CheckInMilestone:
    milestone_id: UUID
    status: str
    note: str
    evidence_link: str | None
    meta: Meta


@dataclass(frozen=True)
class FireMilestoneDeadlines:
    milestone_id: UUID
    now: datetime


@dataclass(frozen=True)
class RegisterProgramme:
    programme_id: UUID
    name: str
    provider: str
    place: str
    focus_area: str
    funding_source: str
    agreement_kind: str
    meta: Meta


@dataclass(frozen=True)
class ChangeProgramme:
    """A panel decision, a spend, or a reported result (``action``: decide, spend, report)."""

    programme_id: UUID
    action: str
    meta: Meta
    decision: str | None = None
    amount: Decimal | None = None
    panel: list[dict[str, str]] | None = None
    period: str | None = None
    people_engaged: int | None = None
    cost: Decimal | None = None
    outcome_value: Decimal | None = None
    note: str | None = None


@dataclass(frozen=True)
class ImportIndicators:
    """One step of an indicator import: start it, add a chunk of rows, or commit it."""

    import_id: UUID
    step: str  # start | rows | commit
    meta: Meta
    file_name: str = ""
    rows_expected: int = 0
    rows: list[dict[str, Any]] | None = None
