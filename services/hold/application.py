"""The hold application: reacts to arrests by opening whanau cases and support tasks."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from services.hold.commands import SupportArrestedPersonsHousehold
from services.hold.domain import SupportTask, WhanauCase
from services.hold.rules import tasks_for_arrest
from services.runtime.application import ServiceApplication, fetch


class HoldApplication(ServiceApplication):
    name = "hold"

    @singledispatchmethod
    def handle(self, command: Any, processing_event: ProcessingEvent[UUID]) -> None:
        super().handle(command, processing_event)

    @handle.register
    def _(self, c: SupportArrestedPersonsHousehold, pe: ProcessingEvent[UUID]) -> None:
        operation_id = c.meta.operation_id
        case_id = WhanauCase.create_id(operation_id, c.household_ref)
        case = self.get_in_batch(pe, case_id, WhanauCase) or WhanauCase(
            operation_id=operation_id, household_ref=c.household_ref, place=c.place, meta=c.meta
        )
        if case.has_arrest(c.arrest_id):
            return
        case.link_arrest(c.arrest_id, c.children, c.only_carer_present, c.meta)
        pe.collect_events(case)
        for plan in tasks_for_arrest(c.arrested_at, len(c.children), c.only_carer_present):
            task_id = SupportTask.create_id(case_id, plan.kind)
            task = self.get_in_batch(pe, task_id, SupportTask)
            if task is None:
                task = SupportTask(
                    case_id=case_id,
                    kind=plan.kind,
                    lead_agency=plan.lead_agency,
                    due_at=plan.due_at,
                    meta=c.meta,
                )
            else:
                task.bring_forward(plan.due_at, c.meta)
            pe.collect_events(task)

    def get_case(self, case_id: UUID) -> WhanauCase:
        return fetch(self, case_id, WhanauCase)

    def get_task(self, task_id: UUID) -> SupportTask:
        return fetch(self, task_id, SupportTask)
