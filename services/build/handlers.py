"""How build decides each command: the table ``HANDLERS`` (command type → function), run by
the one command path (services/runtime/application.py). A concluded operation's follow-up
comes from the tracked consumer; people's commands (sign-offs, the gate, milestones,
programmes, indicator imports) behind group commit, each decided for the caller it names as
the front door did.

Each handler finds its item with a ``check_*`` guard (named error when it is missing or hidden)
before it changes anything.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from services.build.access import no_import, no_milestone, no_plan, no_programme, place_visible
from services.build.commands import (
    AddOwnMilestone,
    ChangeProgramme,
    CheckIn,
    EnrolProgramme,
    FireMilestoneDeadlines,
    ImportIndicators,
    MoveToBuild,
    PlanFollowUp,
    SignOffMove,
)
from services.build.domain import (
    TEMPLATE,
    ImportAlreadyStarted,
    ImportNotFound,
    IndicatorImport,
    Milestone,
    MilestoneNotFound,
    MilestoneTaken,
    PlanNotFound,
    Programme,
    ProgrammeAlreadyRegistered,
    ProgrammeNotFound,
    ProgrammeRuleBroken,
    ResiliencePlan,
)
from services.runtime.authorization import Caller
from services.runtime.dead_letters import NIL
from services.runtime.deciding import Handlers, Unit

if TYPE_CHECKING:
    from services.build.application import BuildApplication


def check_plan(unit: Unit, place: str, caller: Caller) -> ResiliencePlan:
    """The place's plan, if the caller's token lets them see it; otherwise answered as if
    there were none, in the words they asked with (the plan's own spelling of the place
    would reveal that it exists)."""
    plan = unit.get(ResiliencePlan.create_id(place), ResiliencePlan)
    if plan is None or not place_visible(caller, plan.place):
        raise PlanNotFound(no_plan(place))
    return plan


def check_milestone(unit: Unit, milestone_id: UUID) -> Milestone:
    milestone = unit.get(milestone_id, Milestone)
    if milestone is None:
        raise MilestoneNotFound(no_milestone(milestone_id))
    return milestone


def check_programme(unit: Unit, programme_id: UUID) -> Programme:
    programme = unit.get(programme_id, Programme)
    if programme is None:
        raise ProgrammeNotFound(no_programme(programme_id))
    return programme


def check_import(unit: Unit, import_id: UUID) -> IndicatorImport:
    batch = unit.get(import_id, IndicatorImport)
    if batch is None:
        raise ImportNotFound(no_import(import_id))
    return batch


def plan_follow_up(app: BuildApplication, c: PlanFollowUp, unit: Unit) -> None:
    operation_id = c.meta.operation_id
    plan_id = ResiliencePlan.create_id(c.place)
    plan = unit.get(plan_id, ResiliencePlan) or ResiliencePlan(place=c.place, meta=c.meta)
    if not plan.link_operation(operation_id, c.concluded_at, c.meta):
        return
    unit.collect(plan)
    for template in TEMPLATE:
        unit.collect(
            Milestone(
                plan_id=plan_id,
                operation_id=operation_id,
                place=plan.place,
                label=template.label,
                days_after_conclusion=template.days,
                owner_agency=template.owner_agency,
                due_at=c.concluded_at + timedelta(days=template.days),
                meta=c.meta,
            )
        )


def sign_off_gate(app: BuildApplication, c: SignOffMove, unit: Unit) -> None:
    plan = check_plan(unit, c.place, c.caller)
    if plan.sign_off_gate(c.caller, c.meta):
        unit.collect(plan)


def decide_gate(app: BuildApplication, c: MoveToBuild, unit: Unit) -> None:
    plan = check_plan(unit, c.place, c.caller)
    plan.decide_gate(c.caller, c.evidence, c.meta)
    unit.collect(plan)


def add_milestone(app: BuildApplication, c: AddOwnMilestone, unit: Unit) -> UUID:
    plan = check_plan(unit, c.place, c.caller)
    plan.check_caller(c.caller, "add_milestone")
    milestone_id = Milestone.create_id(plan.id, NIL, 0, c.label)
    if unit.get(milestone_id, Milestone) is not None:
        raise MilestoneTaken(f"the plan for {plan.place} already has {c.label!r}")
    unit.collect(
        Milestone(
            plan_id=plan.id,
            operation_id=NIL,
            place=plan.place,
            label=c.label,
            days_after_conclusion=0,
            owner_agency=c.owner_agency,
            due_at=c.due_at,
            meta=c.meta,
        )
    )
    return milestone_id


def check_in_milestone(app: BuildApplication, c: CheckIn, unit: Unit) -> None:
    milestone = check_milestone(unit, c.milestone_id)
    milestone.check_in(c.caller, c.status, c.note, c.evidence_link, c.meta)
    unit.collect(milestone)


def fire_milestone_deadlines(app: BuildApplication, c: FireMilestoneDeadlines, unit: Unit) -> None:
    app.fire_deadlines_of(unit, c.milestone_id, Milestone, c.now)


def register_programme(app: BuildApplication, c: EnrolProgramme, unit: Unit) -> None:
    if unit.get(c.programme_id, Programme) is not None:
        raise ProgrammeAlreadyRegistered(f"programme {c.programme_id} is already registered")
    unit.collect(
        Programme.register(
            c.caller,
            c.programme_id,
            c.name,
            c.provider,
            c.place,
            c.focus_area,
            c.funding_source,
            c.agreement_kind,
            c.meta,
        )
    )


def change_programme(app: BuildApplication, c: ChangeProgramme, unit: Unit) -> None:
    programme = check_programme(unit, c.programme_id)
    if c.action in ("vote", "decide") and c.decision and c.amount is not None:
        if c.action == "decide":
            programme.decide(c.caller, c.decision, c.amount, c.meta)
        elif not programme.vote(c.caller, c.decision, c.amount, c.meta):
            return  # the same vote again: nothing new
    elif c.action == "spend" and c.amount is not None and c.period:
        programme.record_spend(c.caller, c.amount, c.period, c.meta)
    elif c.action == "report" and c.period and c.people_engaged is not None:
        programme.report_result(
            c.caller, c.period, c.people_engaged, c.cost, c.outcome_value, c.note or "", c.meta
        )
    else:
        raise ProgrammeRuleBroken(f"{c.action!r} is missing what it needs")
    unit.collect(programme)


def import_indicators(app: BuildApplication, c: ImportIndicators, unit: Unit) -> None:
    if c.step == "start":
        if unit.get(c.import_id, IndicatorImport) is not None:
            raise ImportAlreadyStarted(f"import {c.import_id} is already started")
        batch = IndicatorImport.start(c.caller, c.import_id, c.file_name, c.rows_expected, c.meta)
    elif c.step == "rows":
        batch = check_import(unit, c.import_id)
        batch.add_rows(c.caller, c.rows or [], c.meta)
    else:
        batch = check_import(unit, c.import_id)
        batch.commit(c.caller, c.meta)
    unit.collect(batch)


HANDLERS: Handlers = {
    PlanFollowUp: plan_follow_up,
    SignOffMove: sign_off_gate,
    MoveToBuild: decide_gate,
    AddOwnMilestone: add_milestone,
    CheckIn: check_in_milestone,
    FireMilestoneDeadlines: fire_milestone_deadlines,
    EnrolProgramme: register_programme,
    ChangeProgramme: change_programme,
    ImportIndicators: import_indicators,
}
