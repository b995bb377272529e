"""What build is asked to do (the transport layer builds these).

A person's command carries ``caller``: who sent it as the authorization table asks about them
(role, agency, the token's places and operations), so build decides it as the front door did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.runtime.authorization import Caller
from services.runtime.meta import Meta


@dataclass(frozen=True)
class PlanFollowUp:
    """An operation concluded in a place: put its follow-up on the place's resilience plan."""

    place: str
    concluded_at: datetime
    meta: Meta


@dataclass(frozen=True)
class SignOffMove:
    """A leadership-group member's own sign-off of a place's move from Hold to Build."""

    place: str
    caller: Caller
    meta: Meta


@dataclass(frozen=True)
class MoveToBuild:
    """The chair moves a place's plan from Hold to Build on the sign-offs recorded."""

    place: str
    evidence: list[str]
    caller: Caller
    meta: Meta


@dataclass(frozen=True)
class AddOwnMilestone:
    """The leadership group's own milestone on a place's plan."""

    place: str
    label: str
    owner_agency: str
    due_at: datetime
    caller: Caller
    meta: Meta


@dataclass(frozen=True)
class CheckIn:
    milestone_id: UUID
    status: str
    note: str
    evidence_link: str | None
    caller: Caller
    meta: Meta


@dataclass(frozen=True)
class FireMilestoneDeadlines:
    milestone_id: UUID
    now: datetime


@dataclass(frozen=True)
class EnrolProgramme:
    programme_id: UUID
    name: str
    provider: str
    place: str
    focus_area: str
    funding_source: str
    agreement_kind: str
    caller: Caller
    meta: Meta


@dataclass(frozen=True)
class ChangeProgramme:
    """A panel member's vote, the panel's decision, a spend, or a reported result
    (``action``: vote, decide, spend, report)."""

    programme_id: UUID
    action: str
    caller: Caller
    meta: Meta
    decision: str | None = None
    amount: Decimal | None = None
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
    caller: Caller
    meta: Meta
    file_name: str = ""
    rows_expected: int = 0
    rows: list[dict[str, Any]] | None = None
