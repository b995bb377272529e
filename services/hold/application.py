"""The hold application: whanau cases and support tasks, as the playbook in force says."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from services.hold.agencies import check_registered as check_agency
from services.hold.agency_register import AgencyRegister, RegisteredAgencies
from services.hold.commands import (
    AdoptPlaybook,
    ChangeAgency,
    ChangeTask,
    EraseHousehold,
    FireDeadlines,
    RecordPersonalRead,
    RegisterAgency,
    ReleaseStagedSupport,
    SeedAgencies,
    SupportArrestedPersonsHousehold,
    SupportHousehold,
)
from services.hold.domain import (
    HouseholdCases,
    HouseholdErasure,
    PlaybookAdoption,
    WhanauCase,
    playbook_scope,
)
from services.hold.playbook import Facts, Playbook, national_playbook, parse_playbook
from services.hold.rules import tasks_for
from services.hold.task import SupportTask, WrongTaskState
from services.runtime.application import fetch
from services.runtime.authorization import (
    DEFAULT_PERSONAL_WINDOW,
    TASK_ACTIONS,
    Caller,
    NotFound,
    NotPermitted,
    Relation,
    caller_from,
    check,
    household_relation,
    playbook_in_scope,
    task_relation,
)
from services.runtime.clock import Clock
from services.runtime.meta import Meta

log = structlog.get_logger()


class TaskNotFound(LookupError):
    pass


class CaseNotFound(LookupError):
    pass


class HoldApplication(AgencyRegister):
    name = "hold"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        personal_window: timedelta = DEFAULT_PERSONAL_WINDOW,
    ) -> None:
        super().__init__(env, clock)
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
        return self._adopted("national") or national_playbook()

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

    @singledispatchmethod
    def handle(self, command: Any, processing_event: ProcessingEvent[UUID]) -> None:
        super().handle(command, processing_event)

    @handle.register
    def _(self, c: SupportArrestedPersonsHousehold, pe: ProcessingEvent[UUID]) -> None:
        case = self._case(pe, c.household_ref, c.place, c.meta)
        if case.has_arrest(c.arrest_id):
            return
        case.link_arrest(c.arrest_id, c.children, c.ages, c.only_carer_present, c.meta)
        pe.collect_events(case)
        self._open_tasks(pe, case, c.arrested_at, arrest_facts(c), c.meta)

    @handle.register
    def _(self, c: SupportHousehold, pe: ProcessingEvent[UUID]) -> None:
        facts = household_facts(c)
        playbook = self.playbook_in_force(c.meta.operation_id, c.place)
        if not playbook.tasks_for(facts):
            return  # nothing in the playbook for this: no case opened for it
        case = self._case(pe, c.household_ref, c.place, c.meta)
        pe.collect_events(case)
        self._open_tasks(pe, case, c.at, facts, c.meta)

    @handle.register
    def _(self, c: ReleaseStagedSupport, pe: ProcessingEvent[UUID]) -> None:
        for staged in c.households:
            case = self._case(pe, staged["household_ref"], c.place, c.meta)
            pe.collect_events(case)
            # Ages are not known before the raid: unknown ages count as young, the cautious
            # reading of any rule about the youngest child.
            facts = Facts(
                "arrest", (None,) * staged["expected_children"], staged["only_carer_expected"]
            )
            self._open_tasks(pe, case, c.launched_at, facts, c.meta)

    def _case(
        self, pe: ProcessingEvent[UUID], household_ref: str, place: str, meta: Meta
    ) -> WhanauCase:
        """The household's case for this operation, opened if it is not open yet."""
        case_id = WhanauCase.create_id(meta.operation_id, household_ref)
        case = self.get_in_batch(pe, case_id, WhanauCase)
        if case is None:
            case = WhanauCase(
                operation_id=meta.operation_id, household_ref=household_ref, place=place, meta=meta
            )
            household_id = HouseholdCases.create_id(household_ref)
            household = self.get_in_batch(pe, household_id, HouseholdCases)
            if household is None:
                household = HouseholdCases(
                    household_ref=household_ref,
                    case_id=case.id,
                    operation_id=meta.operation_id,
                    place=place,
                    meta=meta,
                )
            else:
                household.join(case.id, meta.operation_id, place, meta)
            pe.collect_events(case)  # opened first, then where the household's cases are
            pe.collect_events(household)
        return case

    def _open_tasks(
        self,
        pe: ProcessingEvent[UUID],
        case: WhanauCase,
        since: datetime,
        facts: Facts,
        meta: Meta,
    ) -> None:
        """The tasks the playbook in force asks for; a task already open is only ever brought
        forward, so whichever event comes first, the tightest deadline wins."""
        playbook = self.playbook_in_force(meta.operation_id, case.place)
        plans = [
            (plan, self.get_in_batch(pe, SupportTask.create_id(case.id, plan.kind), SupportTask))
            for plan in tasks_for(facts, since, playbook)
        ]
        # The case records its new tasks before they open (their ids are derived), so each
        # service's history stays in the order its events were made.
        case.attach_tasks([SupportTask.create_id(case.id, p.kind) for p, t in plans if not t], meta)
        pe.collect_events(case)
        for plan, existing in plans:
            if existing is None:
                task = SupportTask(
                    case_id=case.id,
                    kind=plan.kind,
                    lead_agency=plan.lead_agency,
                    fallback_agencies=plan.fallback_agencies,
                    due_at=plan.due_at,
                    reminders_before=plan.reminders_before,
                    escalations_after=plan.escalations_after,
                    playbook=plan.playbook,
                    rule_id=plan.rule_id,
                    meta=meta,
                )
            else:
                task = existing
                task.bring_forward(plan.due_at, meta)
            pe.collect_events(task)

    @handle.register
    def _(self, c: AdoptPlaybook, pe: ProcessingEvent[UUID]) -> None:
        caller = c.caller or caller_from(c.meta.actor)
        check(caller, "adopt_playbook")
        if not playbook_in_scope(caller, c.scope, c.place):
            raise NotPermitted(
                f"a playbook for {c.scope} is outside your token's scope ({caller.scope_text()})"
            )
        # Refuses an invalid document, listing every error, unknown agencies included.
        playbook = parse_playbook(c.document, agencies=RegisteredAgencies(self))
        adoption_id = PlaybookAdoption.create_id(c.scope)
        adoption = self.get_in_batch(pe, adoption_id, PlaybookAdoption) or PlaybookAdoption(
            scope=c.scope
        )
        adoption.adopt(playbook.name, playbook.version, c.document, c.meta)
        pe.collect_events(adoption)
        self._playbooks.pop(c.scope, None)

    @handle.register
    def _(self, c: ChangeTask, pe: ProcessingEvent[UUID]) -> None:
        task = self.get_in_batch(pe, c.task_id, SupportTask)
        if task is None:
            raise TaskNotFound(f"no task {c.task_id}")
        caller = c.caller or caller_from(c.meta.actor)
        action = TASK_ACTIONS.get(c.action)
        if action is None:
            raise WrongTaskState(f"unknown action {c.action!r}")
        case = self.get_in_batch(pe, task.case_id, WhanauCase)
        check(
            caller,
            action,
            task_relation(caller, task.agency, task.status),
            visible=caller.covers(case.place if case else None, task.operation_id),
            hidden_as=f"no task {c.task_id}",
        )
        if c.action == "offer":
            check_agency("to_agency", c.to_agency, self.agency_registered)
        if c.action in ("consent", "complete"):
            check_agency("referral_agency", c.referral_agency, self.agency_registered)
        apply_change(task, c)
        pe.collect_events(task)

    # The agency register (services/hold/agency_register.py).
    @handle.register
    def _(self, c: RegisterAgency, pe: ProcessingEvent[UUID]) -> None:
        self.register_agency(c, pe)

    @handle.register
    def _(self, c: ChangeAgency, pe: ProcessingEvent[UUID]) -> None:
        self.change_agency(c, pe)

    @handle.register
    def _(self, c: SeedAgencies, pe: ProcessingEvent[UUID]) -> None:
        self.seed_missing(c, pe)

    @handle.register
    def _(self, c: RecordPersonalRead, pe: ProcessingEvent[UUID]) -> None:
        case = self.get_in_batch(pe, c.case_id, WhanauCase)
        if case is None:
            raise CaseNotFound(f"no case {c.case_id}")
        caller = c.caller or caller_from(c.meta.actor)
        check(
            caller,
            "read_personal_details",
            self.household_relation(pe, case, caller, c.meta.occurred_at),
            visible=caller.covers(case.place, case.operation_id),
            hidden_as=f"no case {c.case_id}",
        )
        case.record_read(c.fields, c.meta)
        pe.collect_events(case)

    def household_relation(
        self, pe: ProcessingEvent[UUID], case: WhanauCase, caller: Caller, now: datetime
    ) -> Relation:
        """The caller's agency's part in the household's tasks, and so what it may read."""
        parts = []
        for task_id in case.task_ids:
            task = self.get_in_batch(pe, task_id, SupportTask)
            if task is not None:
                parts.extend(task.engagements())
        return household_relation(caller, parts, now, self.personal_window)

    @handle.register
    def _(self, c: EraseHousehold, pe: ProcessingEvent[UUID]) -> None:
        self.check_may_erase(pe, c)
        erasure_id = HouseholdErasure.create_id(c.household_ref)
        if self.get_in_batch(pe, erasure_id, HouseholdErasure) is None:
            pe.collect_events(HouseholdErasure(household_ref=c.household_ref, meta=c.meta))

    def check_may_erase(self, pe: ProcessingEvent[UUID], c: EraseHousehold) -> None:
        """The chair, and for a chair whose token is limited to places or operations, a
        household whose every case lies within them (one with none there is "not found")."""
        caller = c.caller or caller_from(c.meta.actor)
        check(caller, "erase_household")
        if not caller.scoped:
            return
        household = self.get_in_batch(pe, HouseholdCases.create_id(c.household_ref), HouseholdCases)
        cases = list(zip(household.places, household.case_ids, strict=True)) if household else []
        inside = [p for p, _ in cases if caller.covers_place(p)]
        if not cases or not inside or caller.operations:
            raise NotFound(f"no household {c.household_ref}")
        if len(inside) < len(cases):
            raise NotPermitted(
                f"household {c.household_ref} has cases outside your token's scope "
                f"({caller.scope_text()}): its erasure is for a chair whose token covers them"
            )

    def get_erasure(self, household_ref: str) -> HouseholdErasure | None:
        try:
            return fetch(self, HouseholdErasure.create_id(household_ref), HouseholdErasure)
        except AggregateNotFoundError:
            return None

    @handle.register
    def _(self, c: FireDeadlines, pe: ProcessingEvent[UUID]) -> None:
        self.fire_deadlines_of(pe, c.task_id, SupportTask, c.now)

    def get_case(self, case_id: UUID) -> WhanauCase:
        return fetch(self, case_id, WhanauCase)

    def get_task(self, task_id: UUID) -> SupportTask:
        return fetch(self, task_id, SupportTask)


def arrest_facts(c: SupportArrestedPersonsHousehold) -> Facts:
    """The arrest as the playbook's rules see it, ages included, in memory only.

    Sealed ages that could not be opened (the household was erased before Hold saw the arrest)
    give the protective reading: each child counts as young and the arrested person as a young
    person, so the household gets every task an age could call for; an agency closes any that
    turn out not to be needed. A child with no age at all (a command that carried none) is
    likewise counted as young."""
    ages, unreadable = _children_ages(c, arrest_id=str(c.arrest_id))
    return Facts(
        "arrest",
        ages,
        c.only_carer_present,
        person_age=c.opened.person_age if c.opened is not None else None,
        ages_unreadable=unreadable,
    )


def household_facts(c: SupportHousehold) -> Facts:
    """A seizure in the household's home or a witness living there, as the rules see it: the
    children's ages opened in memory as for an arrest, with the same protective reading (every
    child counts as young) when they cannot be opened."""
    ages, unreadable = _children_ages(c, on=c.event, operation_id=str(c.meta.operation_id))
    return Facts(c.event, ages, seizure_kind=c.seizure_kind, ages_unreadable=unreadable)


def _children_ages(
    c: SupportArrestedPersonsHousehold | SupportHousehold, **context: str
) -> tuple[tuple[int | None, ...], bool]:
    """Each child's age from the opened ages (None where it is not known), and whether sealed
    ages were given but could not be opened (logged, never the ages themselves)."""
    refs = [child["child_ref"] for child in c.children]
    unreadable = c.ages is not None and c.opened is None
    if unreadable:
        log.warning("sealed ages unreadable: protective reading", **context)
    known = c.opened.children if c.opened is not None else {}
    return tuple(known.get(ref) for ref in refs), unreadable


def _required(value: str | None, what: str) -> str:
    if not value:
        raise WrongTaskState(f"{what} is required")
    return value


def apply_change(task: SupportTask, c: ChangeTask) -> None:
    """One step of a task's life, checked by the task itself."""
    m, agency = c.meta, c.agency
    match c.action:
        case "accept":
            task.accept(agency, m)
        case "decline":
            task.decline(agency, _required(c.reason_code, "reason_code"), m, c.reason or "")
        case "offer":
            task.offer(_required(c.to_agency, "to_agency"), m)
        case "assign":
            task.assign(agency, _required(c.worker_ref, "worker_ref"), m)
        case "start":
            task.start(agency, m)
        case "consent":
            task.record_consent(
                agency,
                _required(c.referral_agency, "referral_agency"),
                _required(c.consent, "consent"),
                m,
                override_role=c.override_role,
                override_reason=c.reason,
            )
        case "complete":
            task.complete(agency, _required(c.outcome, "outcome"), m, c.referral_agency)
        case "close":
            task.close_unable(agency, _required(c.reason_code, "reason_code"), m, c.reason or "")
        case "note":
            task.add_note(_required(c.text, "text"), m)
        case _:
            raise WrongTaskState(f"unknown action {c.action!r}")
