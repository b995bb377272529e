"""The front door's view of the agency register, from hold's ``AgencyRegistered`` and
``AgencyChanged`` events, starting from the seeded agencies.

The seeded agencies count before hold's stream has been read (a token is checked against this
on every request, from the API's first one); hold's events then replace each with its record:
who added it, when and why, and every change since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.agencies import SEEDED_AGENCIES
from contracts.hold import AgencyChanged, AgencyRegistered


def seeded_agencies() -> dict[str, dict[str, Any]]:
    """The seeded agencies as they stand before hold's record of them has been read."""
    return {
        a.code: {**a.model_dump(mode="json"), "registered_at": None, "registered_by": None}
        for a in SEEDED_AGENCIES
    }


@dataclass
class AgencyView:
    """Mixed into the read model: ``agencies`` by code, and each one's history."""

    agencies: dict[str, dict[str, Any]] = field(default_factory=seeded_agencies)
    agency_history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def _on_AgencyRegistered(self, e: AgencyRegistered) -> None:
        self.agencies[e.code] = {
            "code": e.code,
            "name": e.name,
            "kind": e.kind,
            "places": list(e.places),
            "registered_at": e.occurred_at.isoformat(),
            "registered_by": e.actor.model_dump(),
        }
        self.agency_history[e.code] = [_step(e, "registered", ("name", "kind", "places"))]

    def _on_AgencyChanged(self, e: AgencyChanged) -> None:
        agency = self.agencies.get(e.code)
        if agency is None:  # a change is always recorded after its registration
            return
        agency.update(name=e.name, kind=e.kind, places=list(e.places))
        self.agency_history.setdefault(e.code, []).append(_step(e, "changed", e.changed))


def _step(
    e: AgencyRegistered | AgencyChanged, change: str, fields: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "change": change,
        "at": e.occurred_at.isoformat(),
        "actor": e.actor.model_dump(),
        "reason": e.reason,
        "fields": {f: getattr(e, f) if f != "places" else list(e.places) for f in fields},
        "event_id": str(e.event_id),
    }
