"""Build's transport layer: clear's integration events in, build's integration events out."""

from __future__ import annotations

from typing import Any

from contracts import IntegrationEvent, MilestoneScheduled, OperationConcluded, ResiliencePlanOpened
from services.build.commands import PlanFollowUp
from services.build.domain import Milestone, ResiliencePlan
from services.runtime.clock import Clock
from services.runtime.translation import caused_by, envelope, translate_dead_letter


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    if isinstance(event, OperationConcluded):
        return PlanFollowUp(
            place=event.place,
            concluded_at=event.concluded_at,
            meta=caused_by(event, "build", clock),
        )
    return None


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
    return translate_dead_letter("build", e)
