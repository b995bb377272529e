"""How hold decides each command: the table ``HANDLERS`` (command type → function), run by
the one command path (services/runtime/application.py). Upstream events' commands (an arrest,
a seizure, a witness, a launch) come in batches from the tracked consumer; people's (a step in
a task's life, a playbook, the agency register, a read, an erasure) behind group commit.

Each handler reads and changes aggregates through its ``Unit``: it sees what earlier commands
of its batch did, and a refusal leaves nothing behind. Guards come first.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.hold.commands import (
    AddAgency,
    AmendAgency,
    FireDeadlines,
    ForgetHousehold,
    LogPersonalRead,
    PutPlaybookInForce,
    ReleaseStagedSupport,
    SeedAgencies,
    SupportArrestedPersonsHousehold,
    SupportHousehold,
    TakeTaskStep,
)
from services.hold.domain import (
    Agency,
    AgencyNotRegistered,
    CaseNotFound,
    HouseholdCases,
    HouseholdErasure,
    PlaybookAdoption,
    SupportTask,
    TaskNotFound,
    WhanauCase,
    WrongTaskState,
)
from services.hold.domain import check_registered as check_agency
from services.hold.domain.rules import arrest_facts, household_facts, tasks_for
from services.hold.playbook import Facts, parse_playbook
from services.runtime.authorization import (
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
from services.runtime.deciding import Handlers, Unit
from services.runtime.meta import Meta

if TYPE_CHECKING:
    from services.hold.application import HoldApplication


def support_arrested_household(
    app: HoldApplication, c: SupportArrestedPersonsHousehold, unit: Unit
) -> None:
    case = case_for(unit, c.household_ref, c.place, c.meta)
    if case.has_arrest(c.arrest_id):
        return
    case.link_arrest(c.arrest_id, c.children, c.ages, c.only_carer_present, c.meta)
    unit.collect(case)
    open_tasks(app, unit, case, c.arrested_at, arrest_facts(c), c.meta)


def support_household(app: HoldApplication, c: SupportHousehold, unit: Unit) -> None:
    facts = household_facts(c)
    playbook = app.playbook_in_force(c.meta.operation_id, c.place)
    if not playbook.tasks_for(facts):
        return  # nothing in the playbook for this: no case opened for it
    case = case_for(unit, c.household_ref, c.place, c.meta)
    unit.collect(case)
    open_tasks(app, unit, case, c.at, facts, c.meta)


def release_staged_support(app: HoldApplication, c: ReleaseStagedSupport, unit: Unit) -> None:
    for staged in c.households:
        case = case_for(unit, staged["household_ref"], c.place, c.meta)
        unit.collect(case)
        # Ages are not known before the raid: unknown ages count as young, the cautious
        # reading of any rule about the youngest child.
        facts = Facts(
            "arrest", (None,) * staged["expected_children"], staged["only_carer_expected"]
        )
        open_tasks(app, unit, case, c.launched_at, facts, c.meta)


def case_for(unit: Unit, household_ref: str, place: str, meta: Meta) -> WhanauCase:
    """The household's case for this operation, opened if it is not open yet."""
    case_id = WhanauCase.create_id(meta.operation_id, household_ref)
    case = unit.get(case_id, WhanauCase)
    if case is None:
        case = WhanauCase(
            operation_id=meta.operation_id, household_ref=household_ref, place=place, meta=meta
        )
        household = unit.get(HouseholdCases.create_id(household_ref), HouseholdCases)
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
        unit.collect(case)  # opened first, then where the household's cases are
        unit.collect(household)
    return case


def open_tasks(
    app: HoldApplication,
    unit: Unit,
    case: WhanauCase,
    since: datetime,
    facts: Facts,
    meta: Meta,
) -> None:
    """The tasks the playbook in force asks for; a task already open is only ever brought
    forward, so whichever event comes first, the tightest deadline wins."""
    playbook = app.playbook_in_force(meta.operation_id, case.place)
    plans = [
        (plan, unit.get(SupportTask.create_id(case.id, plan.kind), SupportTask))
        for plan in tasks_for(facts, since, playbook)
    ]
    # The case records its new tasks before they open (their ids are derived), so each
    # service's history stays in the order its events were made.
    case.attach_tasks([SupportTask.create_id(case.id, p.kind) for p, t in plans if not t], meta)
    unit.collect(case)
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
        unit.collect(task)


def adopt_playbook(app: HoldApplication, c: PutPlaybookInForce, unit: Unit) -> None:
    caller = c.caller or caller_from(c.meta.actor)
    check(caller, "adopt_playbook")
    if not playbook_in_scope(caller, c.scope, c.place):
        raise NotPermitted(
            f"a playbook for {c.scope} is outside your token's scope ({caller.scope_text()})"
        )
    # Refuses an invalid document, listing every error, unknown agencies included.
    playbook = parse_playbook(c.document, agencies=app.registered_agencies)
    adoption_id = PlaybookAdoption.create_id(c.scope)
    adoption = unit.get(adoption_id, PlaybookAdoption) or PlaybookAdoption(scope=c.scope)
    adoption.adopt(playbook.name, playbook.version, c.document, c.meta)
    unit.collect(adoption)
    app.forget_playbook(c.scope)


def change_task(app: HoldApplication, c: TakeTaskStep, unit: Unit) -> None:
    task = unit.get(c.task_id, SupportTask)
    if task is None:
        raise TaskNotFound(f"no task {c.task_id}")
    caller = c.caller or caller_from(c.meta.actor)
    action = TASK_ACTIONS.get(c.action)
    if action is None:
        raise WrongTaskState(f"unknown action {c.action!r}")
    case = unit.get(task.case_id, WhanauCase)
    check(
        caller,
        action,
        task_relation(caller, task.agency, task.status),
        visible=caller.covers(case.place if case else None, task.operation_id),
        hidden_as=f"no task {c.task_id}",
    )
    if c.action == "offer":
        check_agency("to_agency", c.to_agency, app.agency_registered)
    if c.action in ("consent", "complete"):
        check_agency("referral_agency", c.referral_agency, app.agency_registered)
    apply_change(task, c)
    unit.collect(task)


def record_personal_read(app: HoldApplication, c: LogPersonalRead, unit: Unit) -> None:
    case = unit.get(c.case_id, WhanauCase)
    if case is None:
        raise CaseNotFound(f"no case {c.case_id}")
    caller = c.caller or caller_from(c.meta.actor)
    check(
        caller,
        "read_personal_details",
        relation_to_household(app, unit, case, caller, c.meta.occurred_at),
        visible=caller.covers(case.place, case.operation_id),
        hidden_as=f"no case {c.case_id}",
    )
    case.record_read(c.fields, c.meta)
    unit.collect(case)


def relation_to_household(
    app: HoldApplication, unit: Unit, case: WhanauCase, caller: Caller, now: datetime
) -> Relation:
    """The caller's agency's part in the household's tasks, and so what it may read."""
    parts = []
    for task_id in case.task_ids:
        task = unit.get(task_id, SupportTask)
        if task is not None:
            parts.extend(task.engagements())
    return household_relation(caller, parts, now, app.personal_window)


def erase_household(app: HoldApplication, c: ForgetHousehold, unit: Unit) -> None:
    check_may_erase(unit, c)
    erasure_id = HouseholdErasure.create_id(c.household_ref)
    if unit.get(erasure_id, HouseholdErasure) is None:
        unit.collect(HouseholdErasure(household_ref=c.household_ref, meta=c.meta))


def check_may_erase(unit: Unit, c: ForgetHousehold) -> None:
    """The chair, and for a chair whose token is limited to places or operations, a
    household whose every case lies within them (one with none there is "not found")."""
    caller = c.caller or caller_from(c.meta.actor)
    check(caller, "erase_household")
    if not caller.scoped:
        return
    household = unit.get(HouseholdCases.create_id(c.household_ref), HouseholdCases)
    cases = list(zip(household.places, household.case_ids, strict=True)) if household else []
    inside = [p for p, _ in cases if caller.covers_place(p)]
    if not cases or not inside or caller.operations:
        raise NotFound(f"no household {c.household_ref}")
    if len(inside) < len(cases):
        raise NotPermitted(
            f"household {c.household_ref} has cases outside your token's scope "
            f"({caller.scope_text()}): its erasure is for a chair whose token covers them"
        )


def fire_deadlines(app: HoldApplication, c: FireDeadlines, unit: Unit) -> None:
    app.fire_deadlines_of(unit, c.task_id, SupportTask, c.now)


# The agency register (each agency decided by its aggregate, services/hold/domain/agency.py).
def register_agency(app: HoldApplication, c: AddAgency, unit: Unit) -> None:
    d = c.details
    taken = app.is_seeded(d.code) or unit.get(Agency.create_id(d.code), Agency) is not None
    agency = Agency.register(c.caller, d.code, d.name, d.kind, list(d.places), c.meta, taken)
    unit.collect(agency)


def change_agency(app: HoldApplication, c: AmendAgency, unit: Unit) -> None:
    agency = unit.get(Agency.create_id(c.code), Agency)
    if agency is None:
        raise AgencyNotRegistered(f"no agency {c.code}")
    places = list(c.places) if c.places is not None else None
    if agency.change(c.caller, c.meta, name=c.name, kind=c.kind, places=places):
        unit.collect(agency)


def seed_agencies(app: HoldApplication, c: SeedAgencies, unit: Unit) -> None:
    for d in c.agencies:
        if unit.get(Agency.create_id(d.code), Agency) is None:
            unit.collect(Agency.seed(d.code, d.name, d.kind, list(d.places), c.meta))


def _required(value: str | None, what: str) -> str:
    if not value:
        raise WrongTaskState(f"{what} is required")
    return value


def apply_change(task: SupportTask, c: TakeTaskStep) -> None:
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


HANDLERS: Handlers = {
    SupportArrestedPersonsHousehold: support_arrested_household,
    SupportHousehold: support_household,
    ReleaseStagedSupport: release_staged_support,
    PutPlaybookInForce: adopt_playbook,
    TakeTaskStep: change_task,
    LogPersonalRead: record_personal_read,
    ForgetHousehold: erase_household,
    FireDeadlines: fire_deadlines,
    AddAgency: register_agency,
    AmendAgency: change_agency,
    SeedAgencies: seed_agencies,
}
