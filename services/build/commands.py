"""What build is asked to do (the transport layer builds these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.runtime.meta import Meta


@dataclass(frozen=True)
class PlanFollowUp:
    """An operation concluded in a place: put its follow-up on the place's resilience plan."""

    place: str
    concluded_at: datetime
    meta: Meta
