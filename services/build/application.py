"""The build application: a resilience plan per place, milestones per concluded operation."""

from __future__ import annotations

from datetime import timedelta
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from services.build.access import no_import, no_milestone, no_plan, no_programme, place_visible
from services.build.commands import (
    AddMilestone,
    ChangeProgramme,
    CheckInMilestone,
    DecideGate,
    FireMilestoneDeadlines,
    ImportIndicators,
    PlanFollowUp,
    RegisterProgramme,
    SignOffGate,
)
from services.build.domain import IndicatorImport, Milestone, PlanRuleBroken, ResiliencePlan
from services.build.milestones import TEMPLATE
from services.build.programme import Programme, ProgrammeRuleBroken
from services.runtime.application import ServiceApplication, fetch
from services.runtime.authorization import Caller, NotFound
from services.runtime.dead_letters import NIL


class PlanNotFound(NotFound):
    """No such plan, milestone, programme or import: answered alike whether it does not exist
    or the caller's token does not let them see it."""


class BuildApplication(ServiceApplication):
    name = "build"

    @singledispatchmethod
    def handle(self, command: Any, processing_event: ProcessingEvent[UUID]) -> None:
        super().handle(command, processing_event)

    @handle.register
    def _(self, c: PlanFollowUp, pe: ProcessingEvent[UUID]) -> None:
        operation_id = c.meta.operation_id
        plan_id = ResiliencePlan.create_id(c.place)
        plan = self.get_in_batch(pe, plan_id, ResiliencePlan) or ResiliencePlan(
            place=c.place, meta=c.meta
        )
        if not plan.link_operation(operation_id, c.concluded_at, c.meta):
            return
        pe.collect_events(plan)
        for template in TEMPLATE:
            pe.collect_events(
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

    @handle.register
    def _(self, c: SignOffGate, pe: ProcessingEvent[UUID]) -> None:
        plan = self._plan(pe, c.place, c.caller)
        if plan.sign_off_gate(c.caller, c.meta):
            pe.collect_events(plan)

    @handle.register
    def _(self, c: DecideGate, pe: ProcessingEvent[UUID]) -> None:
        plan = self._plan(pe, c.place, c.caller)
        plan.decide_gate(c.caller, c.evidence, c.meta)
        pe.collect_events(plan)

    @handle.register
    def _(self, c: AddMilestone, pe: ProcessingEvent[UUID]) -> None:
        plan = self._plan(pe, c.place, c.caller)
        plan.check_caller(c.caller, "add_milestone")
        milestone_id = Milestone.create_id(plan.id, NIL, 0, c.label)
        if self.get_in_batch(pe, milestone_id, Milestone) is not None:
            raise PlanRuleBroken(f"the plan for {plan.place} already has {c.label!r}")
        pe.collect_events(
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

    @handle.register
    def _(self, c: CheckInMilestone, pe: ProcessingEvent[UUID]) -> None:
        milestone = self.get_in_batch(pe, c.milestone_id, Milestone)
        if milestone is None:
            raise PlanNotFound(no_milestone(c.milestone_id))
        milestone.check_in(c.caller, c.status, c.note, c.evidence_link, c.meta)
        pe.collect_events(milestone)

    @handle.register
    def _(self, c: FireMilestoneDeadlines, pe: ProcessingEvent[UUID]) -> None:
        self.fire_deadlines_of(pe, c.milestone_id, Milestone, c.now)

    @handle.register
    def _(self, c: RegisterProgramme, pe: ProcessingEvent[UUID]) -> None:
        if self.get_in_batch(pe, c.programme_id, Programme) is not None:
            raise ProgrammeRuleBroken(f"programme {c.programme_id} is already registered")
        pe.collect_events(
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

    @handle.register
    def _(self, c: ChangeProgramme, pe: ProcessingEvent[UUID]) -> None:
        programme = self.get_in_batch(pe, c.programme_id, Programme)
        if programme is None:
            raise PlanNotFound(no_programme(c.programme_id))
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
        pe.collect_events(programme)

    @handle.register
    def _(self, c: ImportIndicators, pe: ProcessingEvent[UUID]) -> None:
        batch = self.get_in_batch(pe, c.import_id, IndicatorImport)
        if c.step == "start":
            if batch is not None:
                raise PlanRuleBroken(f"import {c.import_id} is already started")
            batch = IndicatorImport.start(
                c.caller, c.import_id, c.file_name, c.rows_expected, c.meta
            )
        elif batch is None:
            raise PlanNotFound(no_import(c.import_id))
        elif c.step == "rows":
            batch.add_rows(c.caller, c.rows or [], c.meta)
        else:
            batch.commit(c.caller, c.meta)
        pe.collect_events(batch)

    def _plan(self, pe: ProcessingEvent[UUID], place: str, caller: Caller) -> ResiliencePlan:
        """The place's plan, if the caller's token lets them see it; otherwise answered as if
        there were none, in the words they asked with (the plan's own spelling of the place
        would reveal that it exists)."""
        plan = self.get_in_batch(pe, ResiliencePlan.create_id(place), ResiliencePlan)
        if plan is None or not place_visible(caller, plan.place):
            raise PlanNotFound(no_plan(place))
        return plan

    def get_programme(self, programme_id: UUID) -> Programme:
        return fetch(self, programme_id, Programme)

    def get_plan(self, place: str) -> ResiliencePlan:
        return fetch(self, ResiliencePlan.create_id(place), ResiliencePlan)
