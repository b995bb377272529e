"""How build's integration events change the views: plans, milestones, programmes and
indicator imports (each function is one entry of the dispatch table, ``dispatch.py``)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from contracts import (
    MilestoneChanged,
    MilestoneScheduled,
    PlanGateDecided,
    PlanGateSignedOff,
    ProgrammeChanged,
    ProgrammeRegistered,
    ResiliencePlanOpened,
)
from contracts.indicators import (
    IndicatorImportCommitted,
    IndicatorImportStarted,
    IndicatorRowsAdded,
)
from contracts.place import place_key
from services.views.fields import trace as _trace
from services.views.rows import ImportFacts, ImportRow, MilestoneRow, PlanRow, ProgrammeRow

if TYPE_CHECKING:
    from services.views.read_model import ReadModel


def resilience_plan_opened(model: ReadModel, e: ResiliencePlanOpened) -> None:
    model.plans[place_key(e.place)] = PlanRow(
        plan_id=str(e.plan_id),
        place=e.place,
        opened_at=e.occurred_at.isoformat(),
        **_trace(e),
    )


def plan_gate_signed_off(model: ReadModel, e: PlanGateSignedOff) -> None:
    if plan := model.plans.get(place_key(e.place)):
        signed = plan.sign_offs
        if all(s["id"] != e.actor.id for s in signed):
            signed.append({**e.actor.model_dump(), "at": e.occurred_at.isoformat(), **_trace(e)})


def plan_gate_decided(model: ReadModel, e: PlanGateDecided) -> None:
    if plan := model.plans.get(place_key(e.place)):
        plan.phase = e.to_phase
        plan.gate = {
            "decided_at": e.occurred_at.isoformat(),
            "recorded_by": e.actor.model_dump(),
            "signed_off_by": [s.model_dump(mode="json") for s in e.signed_off_by],
            "evidence": list(e.evidence),
            "reason": e.reason,
            "event_id": str(e.event_id),
        }


def milestone_changed(model: ReadModel, e: MilestoneChanged) -> None:
    milestone = model.milestones.get(e.milestone_id)
    if milestone is None:
        return
    if e.status is not None:
        milestone.status = e.status
    if e.change == "escalated":
        milestone.escalation_level = e.detail.get("level")
    if milestone.history is None:
        milestone.history = []
    milestone.history.append(
        {
            "change": e.change,
            "at": e.occurred_at.isoformat(),
            "actor": e.actor.model_dump(),
            "status": e.status,
            "detail": e.detail,
            **_trace(e),
        }
    )


def programme_registered(model: ReadModel, e: ProgrammeRegistered) -> None:
    model.programmes[e.programme_id] = ProgrammeRow(
        programme_id=str(e.programme_id),
        name=e.name,
        provider=e.provider,
        place=e.place,
        focus_area=e.focus_area,
        funding_source=e.funding_source,
        agreement_kind=e.agreement_kind,
        **_trace(e),
    )


def programme_changed(model: ReadModel, e: ProgrammeChanged) -> None:
    programme = model.programmes.get(e.programme_id)
    if programme is None:
        return
    if e.committed is not None:
        programme.committed = str(e.committed)
    if e.spent is not None:
        programme.spent = str(e.spent)
    if e.change == "panel_vote_cast":
        vote = {
            **e.actor.model_dump(),
            "decision": e.decision,
            "amount": str(e.amount),
            "at": e.occurred_at.isoformat(),
        }
        others = [v for v in programme.votes if v["id"] != e.actor.id]
        programme.votes = [*others, vote]
    elif e.change == "panel_decided":
        programme.votes = []  # a decision uses up the votes cast before it
    if e.change == "result_reported":
        programme.people_engaged += e.people_engaged or 0
        if e.cost is not None and e.outcome_value is not None:
            cost = Decimal(programme.reported_cost) + e.cost
            value = Decimal(programme.reported_value) + e.outcome_value
            programme.reported_cost, programme.reported_value = str(cost), str(value)
            programme.social_return = str((value / cost).quantize(Decimal("0.01")))
    programme.history.append(
        {
            "change": e.change,
            "at": e.occurred_at.isoformat(),
            "actor": e.actor.model_dump(),
            **{
                k: str(v) if isinstance(v, Decimal) else v
                for k, v in e.model_dump(
                    include={
                        "amount",
                        "decision",
                        "period",
                        "people_engaged",
                        "cost",
                        "outcome_value",
                    }
                ).items()
                if v is not None
            },
            **({"panel": [p.model_dump(mode="json") for p in e.panel]} if e.panel else {}),
            **_trace(e),
        }
    )


def indicator_import_started(model: ReadModel, e: IndicatorImportStarted) -> None:
    model.import_facts[e.import_id] = ImportFacts(
        import_id=str(e.import_id), starter_agency=e.starter_agency
    )


def indicator_rows_added(model: ReadModel, e: IndicatorRowsAdded) -> None:
    model.pending_imports.setdefault(e.import_id, []).extend(e.rows)
    facts = model.import_facts.setdefault(e.import_id, ImportFacts(import_id=str(e.import_id)))
    places = facts.places
    known = {place_key(p) for p in places}
    for row in e.rows:
        if place_key(row.place) not in known:
            known.add(place_key(row.place))
            places.append(row.place)


def indicator_import_committed(model: ReadModel, e: IndicatorImportCommitted) -> None:
    """Only now do the import's rows count, all together."""
    model.indicators.extend(model.pending_imports.pop(e.import_id, []))
    facts = model.import_facts.get(e.import_id) or ImportFacts(import_id=str(e.import_id))
    model.imports.append(
        ImportRow(
            import_id=str(e.import_id),
            file_name=e.file_name,
            rows=e.rows,
            # The token's scope applies to every row: an import is listed only to those
            # whose token covers all of these.
            places=list(facts.places),
            starter_agency=facts.starter_agency,
            committed_at=e.occurred_at.isoformat(),
            **_trace(e),
        )
    )


def milestone_scheduled(model: ReadModel, e: MilestoneScheduled) -> None:
    model.milestones[e.milestone_id] = MilestoneRow(
        milestone_id=str(e.milestone_id),
        plan_id=str(e.plan_id),
        operation_id=str(e.operation_id),
        place=e.place,
        label=e.label,
        days_after_conclusion=e.days_after_conclusion,
        owner_agency=e.owner_agency,
        due_at=e.due_at.isoformat(),
        status=e.status,
        **_trace(e),
    )
