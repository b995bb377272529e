"""What build does about its upstream's events: a concluded operation's follow-up."""

from __future__ import annotations

from contracts import IntegrationEvent, OperationConcluded
from services.build.commands import PlanFollowUp
from services.runtime.clock import Clock
from services.runtime.translation import caused_by


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    if isinstance(event, OperationConcluded):
        return PlanFollowUp(
            place=event.place,
            concluded_at=event.concluded_at,
            meta=caused_by(event, "build", clock),
        )
    return None
