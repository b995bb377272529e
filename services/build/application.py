"""The build application: a resilience plan per place, milestones per concluded operation."""

from __future__ import annotations

from datetime import timedelta
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from services.build.commands import PlanFollowUp
from services.build.domain import Milestone, ResiliencePlan
from services.build.milestones import TEMPLATE
from services.runtime.application import ServiceApplication, fetch


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

    def get_plan(self, place: str) -> ResiliencePlan:
        return fetch(self, ResiliencePlan.create_id(place), ResiliencePlan)
