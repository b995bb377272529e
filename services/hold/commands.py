"""What hold is asked to do, in its own words (the transport layer builds these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.runtime.meta import Meta


@dataclass(frozen=True)
class SupportArrestedPersonsHousehold:
    """Open (or join) the household's case and its tasks after an arrest."""

    arrest_id: UUID
    household_ref: str
    place: str
    arrested_at: datetime
    children: list[dict[str, Any]]
    only_carer_present: bool
    meta: Meta
