"""Build's stored events as the integration events other services see (the relay publishes
what ``translate`` gives)."""

from __future__ import annotations

from typing import Any

from contracts import (
    IndicatorImportCommitted,
    IndicatorImportStarted,
    IndicatorRowsAdded,
    IntegrationEvent,
    MilestoneChanged,
    MilestoneScheduled,
    PlanGateDecided,
    PlanGateSignedOff,
    ProgrammeChanged,
    ProgrammeRegistered,
    ResiliencePlanOpened,
)
from contracts.build import SignedBy
from services.build.domain import IndicatorImport, Milestone, ResiliencePlan
from services.build.programme import Programme
from services.runtime.translation import envelope, translate_dead_letter


def translate(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    if isinstance(e, ResiliencePlan.Opened):
        return ResiliencePlanOpened(**envelope("build", e), plan_id=e.originator_id, place=e.place)
    if isinstance(e, Milestone.Scheduled):
        return MilestoneScheduled(
            **envelope("build", e),
            milestone_id=e.originator_id,
            plan_id=e.plan_id,
            place=e.place,
            label=e.label,
            days_after_conclusion=e.days_after_conclusion,
            owner_agency=e.owner_agency,
            due_at=e.due_at,
        )
    if isinstance(e, ResiliencePlan.GateSignedOff):
        return PlanGateSignedOff(**envelope("build", e), plan_id=e.originator_id, place=e.place)
    if isinstance(e, ResiliencePlan.GateDecided):
        return PlanGateDecided(
            **envelope("build", e),
            plan_id=e.originator_id,
            place=e.place,
            to_phase="build",
            signed_off_by=tuple(SignedBy.model_validate(s) for s in e.signed_off_by),
            evidence=tuple(e.evidence),
        )
    if isinstance(e, Milestone.CheckedIn):
        return MilestoneChanged(
            **envelope("build", e),
            milestone_id=e.originator_id,
            change="checked_in",
            status=e.status,
            detail={"note": e.note, "evidence_link": e.evidence_link},
        )
    if isinstance(e, Milestone.Escalated):
        return MilestoneChanged(
            **envelope("build", e),
            milestone_id=e.originator_id,
            change="escalated",
            detail={"step": e.step, "level": e.level},
        )
    if isinstance(e, IndicatorImport.Started):
        return IndicatorImportStarted(
            **envelope("build", e),
            import_id=e.originator_id,
            file_name=e.file_name,
            rows_expected=e.rows_expected,
            starter_agency=e.starter_agency or e.meta.actor.agency,
        )
    if isinstance(e, IndicatorImport.RowsAdded):
        return IndicatorRowsAdded(
            **envelope("build", e), import_id=e.originator_id, rows=tuple(e.rows)
        )
    if isinstance(e, IndicatorImport.Committed):
        return IndicatorImportCommitted(
            **envelope("build", e), import_id=e.originator_id, file_name=e.file_name, rows=e.rows
        )
    if isinstance(e, Programme.Registered):
        return ProgrammeRegistered(
            **envelope("build", e),
            programme_id=e.originator_id,
            name=e.name,
            provider=e.provider,
            place=e.place,
            focus_area=e.focus_area,
            funding_source=e.funding_source,
            agreement_kind=e.agreement_kind,
        )
    if isinstance(e, Programme.PanelVoted):
        return _programme_change(e, "panel_vote_cast", amount=e.amount, decision=e.decision)
    if isinstance(e, Programme.PanelDecided):
        return _programme_change(
            e,
            "panel_decided",
            committed=e.committed_total,
            amount=e.amount,
            decision=e.decision,
            panel=tuple(SignedBy.model_validate(p) for p in e.panel),
        )
    if isinstance(e, Programme.SpendRecorded):
        return _programme_change(
            e, "spend_recorded", spent=e.spent_total, amount=e.amount, period=e.period
        )
    if isinstance(e, Programme.ResultReported):
        return _programme_change(
            e,
            "result_reported",
            period=e.period,
            people_engaged=e.people_engaged,
            cost=e.cost,
            outcome_value=e.outcome_value,
            detail={"note": e.note},
        )
    return translate_dead_letter("build", e)


def _programme_change(e: Any, change: Any, **fields: Any) -> ProgrammeChanged:
    return ProgrammeChanged(
        **envelope("build", e), programme_id=e.originator_id, change=change, **fields
    )
