"""Build's stored events as the integration events other services see (the relay publishes
what ``translate`` gives)."""

from __future__ import annotations

from typing import Any

from contracts import (
    IndicatorImportCommitted,
    IndicatorImportStarted,
    IndicatorRowsAdded,
    MilestoneChanged,
    MilestoneScheduled,
    PlanGateDecided,
    PlanGateSignedOff,
    ProgrammeChanged,
    ProgrammeRegistered,
    ResiliencePlanOpened,
)
from contracts.build import SignedBy
from services.build.domain import IndicatorImport, Milestone, Programme, ResiliencePlan
from services.runtime.translation import Compute, Translation, envelope


def _programme_change(e: Any, change: Any, **fields: Any) -> ProgrammeChanged:
    return ProgrammeChanged(
        **envelope("build", e), programme_id=e.originator_id, change=change, **fields
    )


def _signed(key: str) -> Compute:
    return lambda e: tuple(SignedBy.model_validate(s) for s in getattr(e, key))


translate = Translation("build")
by_name = translate.by_name
translate.rules |= {
    ResiliencePlan.Opened: by_name(ResiliencePlanOpened, id_as="plan_id"),
    Milestone.Scheduled: by_name(MilestoneScheduled, id_as="milestone_id"),
    ResiliencePlan.GateSignedOff: by_name(PlanGateSignedOff, id_as="plan_id"),
    ResiliencePlan.GateDecided: by_name(
        PlanGateDecided,
        id_as="plan_id",
        to_phase=lambda e: "build",
        signed_off_by=_signed("signed_off_by"),
    ),
    Milestone.CheckedIn: by_name(
        MilestoneChanged,
        id_as="milestone_id",
        change=lambda e: "checked_in",
        detail=lambda e: {"note": e.note, "evidence_link": e.evidence_link},
    ),
    Milestone.Escalated: by_name(
        MilestoneChanged,
        id_as="milestone_id",
        change=lambda e: "escalated",
        detail=lambda e: {"step": e.step, "level": e.level},
    ),
    IndicatorImport.Started: by_name(
        IndicatorImportStarted,
        id_as="import_id",
        starter_agency=lambda e: e.starter_agency or e.meta.actor.agency,
    ),
    IndicatorImport.RowsAdded: by_name(IndicatorRowsAdded, id_as="import_id"),
    IndicatorImport.Committed: by_name(IndicatorImportCommitted, id_as="import_id"),
    Programme.Registered: by_name(ProgrammeRegistered, id_as="programme_id"),
    Programme.PanelVoted: lambda e: _programme_change(
        e, "panel_vote_cast", amount=e.amount, decision=e.decision
    ),
    Programme.PanelDecided: lambda e: _programme_change(
        e,
        "panel_decided",
        committed=e.committed_total,
        amount=e.amount,
        decision=e.decision,
        panel=_signed("panel")(e),
    ),
    Programme.SpendRecorded: lambda e: _programme_change(
        e, "spend_recorded", spent=e.spent_total, amount=e.amount, period=e.period
    ),
    Programme.ResultReported: lambda e: _programme_change(
        e,
        "result_reported",
        period=e.period,
        people_engaged=e.people_engaged,
        cost=e.cost,
        outcome_value=e.outcome_value,
        detail={"note": e.note},
    ),
}
