"""The hold application: whanau cases and support tasks, as the playbook in force says."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.hold.agency_register import AgencyRegister, RegisteredAgencies
from services.hold.domain import (
    FINISHED,
    CaseNotFound,
    HouseholdErasure,
    PlaybookAdoption,
    SupportTask,
    TaskNotFound,
    WhanauCase,
    playbook_scope,
)
from services.hold.handlers import HANDLERS
from services.hold.playbook import Playbook, national_playbook, parse_playbook
from services.runtime.application import fetch
from services.runtime.authorization import DEFAULT_PERSONAL_WINDOW
from services.runtime.clock import Clock
from services.runtime.deadline_store import DeadlineKind
from services.runtime.deciding import Handlers

__all__ = ["TASK_DEADLINES", "CaseNotFound", "HoldApplication", "TaskNotFound"]

# Support tasks' next deadlines are kept in hold's store (services/hold/deadlines.py reads them).
TASK_DEADLINES = DeadlineKind(SupportTask, finished=lambda task: task.status in FINISHED)


class HoldApplication(AgencyRegister):
    name = "hold"
    handlers: ClassVar[Handlers] = HANDLERS
    deadline_kinds: ClassVar[tuple[DeadlineKind, ...]] = (TASK_DEADLINES,)

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        personal_window: timedelta = DEFAULT_PERSONAL_WINDOW,
        default_playbook: Playbook | None = None,
    ) -> None:
        super().__init__(env, clock)
        # In force where nothing is adopted: the national default that ships, unless a test
        # brings its own so national policy can change without rewriting hold's tests.
        self.default_playbook = default_playbook
        # How long an agency may still read a household's details after its part ended.
        self.personal_window = personal_window
        # Parsed playbooks by scope (None: nothing adopted there). Filled from the store on first
        # use and dropped when an adoption is recorded, so it never outlives the store.
        self._playbooks: dict[str, Playbook | None] = {}

    def playbook_in_force(self, operation_id: UUID, place: str) -> Playbook:
        """The operation's own playbook, else the place's, else the adopted national one, else
        the national default that ships with the project."""
        for scope in (playbook_scope(operation_id=operation_id), playbook_scope(place=place)):
            found = self._adopted(scope)
            if found is not None:
                return found
        return self._adopted("national") or self.default_playbook or national_playbook()

    def _adopted(self, scope: str) -> Playbook | None:
        if scope not in self._playbooks:
            try:
                adoption = fetch(self, PlaybookAdoption.create_id(scope), PlaybookAdoption)
            except AggregateNotFoundError:
                self._playbooks[scope] = None
            else:
                document = adoption.document
                self._playbooks[scope] = parse_playbook(document) if document else None
        return self._playbooks[scope]

    def forget_playbook(self, scope: str) -> None:
        """A playbook was adopted for ``scope``: read it from the store next time."""
        self._playbooks.pop(scope, None)

    @property
    def registered_agencies(self) -> RegisteredAgencies:
        return RegisteredAgencies(self)

    def get_erasure(self, household_ref: str) -> HouseholdErasure | None:
        return self.find(HouseholdErasure.create_id(household_ref), HouseholdErasure)

    def get_case(self, case_id: UUID) -> WhanauCase:
        return fetch(self, case_id, WhanauCase)

    def get_task(self, task_id: UUID) -> SupportTask:
        return fetch(self, task_id, SupportTask)
