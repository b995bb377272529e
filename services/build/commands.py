"""What build is asked to do (the transport layer builds these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
