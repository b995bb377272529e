"""The views' agency register, from hold's ``AgencyRegistered`` and ``AgencyChanged`` events,
starting from the seeded agencies.

The seeded agencies count before hold's stream has been read (a token is checked against this
on every request, from the API's first one); hold's events then replace each with its record:
who added it, when and why, and every change since.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.agencies import SEEDED_AGENCIES
from contracts.hold import AgencyChanged, AgencyRegistered
from services.views.rows import AgencyRow, AgencyStep

if TYPE_CHECKING:
    from services.views.read_model import ReadModel


def seeded_agencies() -> dict[str, AgencyRow]:
    """The seeded agencies as they stand before hold's record of them has been read."""
    return {
        a.code: AgencyRow(code=a.code, name=a.name, kind=a.kind, places=list(a.places))
        for a in SEEDED_AGENCIES
    }


def agency_registered(model: ReadModel, e: AgencyRegistered) -> None:
    model.agencies[e.code] = AgencyRow(
        code=e.code,
        name=e.name,
        kind=e.kind,
        places=list(e.places),
        registered_at=e.occurred_at.isoformat(),
        registered_by=e.actor.model_dump(),
    )
    model.agency_history[e.code] = [_step(e, "registered", ("name", "kind", "places"))]


def agency_changed(model: ReadModel, e: AgencyChanged) -> None:
    agency = model.agencies.get(e.code)
    if agency is None:  # a change is always recorded after its registration
        return
    agency.name, agency.kind, agency.places = e.name, e.kind, list(e.places)
    model.agency_history.setdefault(e.code, []).append(_step(e, "changed", e.changed))


def _step(e: AgencyRegistered | AgencyChanged, change: str, fields: tuple[str, ...]) -> AgencyStep:
    return AgencyStep(
        change=change,
        at=e.occurred_at.isoformat(),
        actor=e.actor.model_dump(),
        reason=e.reason,
        fields={f: getattr(e, f) if f != "places" else list(e.places) for f in fields},
        event_id=str(e.event_id),
    )
