"""The build application: a resilience plan per place, milestones per concluded operation,
programmes and indicator imports; its commands are decided by the table in
services/build/handlers.py on the one command path (services/runtime/application.py)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from services.build.domain import Milestone, PlanNotFound, Programme, ResiliencePlan
from services.build.handlers import HANDLERS
from services.runtime.application import ServiceApplication, fetch
from services.runtime.deadline_store import DeadlineKind
from services.runtime.deciding import Handlers

# Milestones' next deadlines are kept in build's store (services/build/deadlines.py reads them).
MILESTONE_DEADLINES = DeadlineKind(Milestone, finished=lambda milestone: milestone.status == "met")

__all__ = ["MILESTONE_DEADLINES", "BuildApplication", "PlanNotFound"]


class BuildApplication(ServiceApplication):
    name = "build"
    handlers: ClassVar[Handlers] = HANDLERS
    deadline_kinds: ClassVar[tuple[DeadlineKind, ...]] = (MILESTONE_DEADLINES,)

    def get_programme(self, programme_id: UUID) -> Programme:
        return fetch(self, programme_id, Programme)

    def get_plan(self, place: str) -> ResiliencePlan:
        return fetch(self, ResiliencePlan.create_id(place), ResiliencePlan)
