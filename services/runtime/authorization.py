"""Who may do what: one table, decided per action and per relation.

The front door checks it before it sends a command or shows an answer, and the aggregate that
owns the item checks it again when the command arrives, so a command that reaches a service
by another path is refused too. Both ask the same question of the same table:

    may this caller (role, agency, the token's places and operations) do this action, given
    their agency's relation to the item (holder, offered, owner, provider, starter, planning
    cell, or none) and whether the item is visible to them at all?

Visibility comes first: an item outside the caller's scope, or a planned operation outside its
planning cell, is answered exactly as an unknown id would be (404), so a refusal never reveals
that a hidden item exists. A visible item the caller may not act on is refused with the reason
and who may (403). Whether the item's *state* allows the step (a task already finished, an
operation not launched) is the aggregate's rule and answers 409 to those who may act on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from contracts.place import Place
from services.runtime.errors import DomainError, Missing

ADMINISTRATOR = "administrator"
PLANNING = frozenset({"planner", "operation_commander"})
WORKERS = frozenset({"agency_worker", "agency_lead"})
LEADS = frozenset({"agency_lead"})
LEADERSHIP = frozenset({"leadership_group_member", "leadership_group_chair"})
CHAIR = frozenset({"leadership_group_chair"})
AUDITOR = frozenset({"auditor"})
STAFF = PLANNING | WORKERS | LEADERSHIP
READERS = STAFF | AUDITOR
EVERYONE = READERS | {"public"}
ADMIN = frozenset({ADMINISTRATOR})
ROLES = (
    ADMINISTRATOR,
    "planner",
    "operation_commander",
    "agency_worker",
    "agency_lead",
    "leadership_group_member",
    "leadership_group_chair",
    "auditor",
    "public",
)

# The agency whose planners and commanders are an operation's planning cell.
PLANNING_CELL_AGENCY = "police"
# How long an agency may still read a household's personal details after its last task of
# that household finished (or was moved to another agency).
DEFAULT_PERSONAL_WINDOW = timedelta(days=30)


class Relation(StrEnum):
    """The caller's agency's relation to the item acted on."""

    PLANNING_CELL = "planning_cell"  # Police's planners and commanders, for an operation
    OFFERED = "offered"  # a task offered to the caller's agency, not yet accepted
    HOLDER = "holder"  # a task the caller's agency has accepted and not finished
    RECENT_HOLDER = "recent_holder"  # its last task of the household finished within the window
    FORMER_HOLDER = "former_holder"  # ... finished longer ago than that
    OWNER = "owner"  # a milestone's owner agency
    PROVIDER = "provider"  # a programme's provider
    STARTER = "starter"  # the agency that started an indicator import
    NONE = "none"


@dataclass(frozen=True)
class Grant:
    """Who may: these roles, when their agency has one of these relations (None: any)."""

    roles: frozenset[str]
    relations: frozenset[Relation] | None = None

    def admits(self, role: str, relation: Relation) -> bool:
        return role in self.roles and (self.relations is None or relation in self.relations)


def grant(roles: Iterable[str], *relations: Relation) -> Grant:
    return Grant(frozenset(roles), frozenset(relations) if relations else None)


CELL = Relation.PLANNING_CELL
OFFERED, HOLDER = Relation.OFFERED, Relation.HOLDER
RECENT = Relation.RECENT_HOLDER

# action -> who may. Relation-free grants (no relation named) admit the role whatever its
# agency's relation to the item. The administrator runs the system: it may do what keeps the
# system running and what the planning cell and the leadership group do, never an agency's
# casework, a person's own sign-off or vote, or a read of a family's personal details.
TABLE: dict[str, tuple[Grant, ...]] = {
    # Clear: operations are Police's; their planning cell plans and runs them.
    "plan_operation": (grant(PLANNING, CELL), grant(ADMIN)),
    "launch_operation": (grant(PLANNING, CELL), grant(ADMIN)),
    "conclude_operation": (grant(PLANNING, CELL), grant(ADMIN)),
    "record_arrest": (grant(PLANNING, CELL), grant(ADMIN)),
    "record_seizure": (grant(PLANNING, CELL), grant(ADMIN)),
    "register_witness": (grant(PLANNING, CELL), grant(ADMIN)),
    "stage_support": (grant(PLANNING, CELL), grant(ADMIN)),
    "read_staged_support": (grant(PLANNING, CELL), grant(AUDITOR), grant(ADMIN)),
    "read_operation": (grant(READERS), grant(ADMIN)),
    # Hold: the offered agency accepts or declines; the holder does the work; the leadership
    # group places or moves a task with any agency (any door is the right door).
    "read_task": (grant(READERS), grant(ADMIN)),
    # The holder too: its accepting or declining again is the task's own rule to refuse (409).
    "accept_task": (grant(WORKERS, OFFERED, HOLDER),),
    "decline_task": (grant(WORKERS, OFFERED, HOLDER),),
    "offer_task": (grant(LEADERSHIP), grant(ADMIN)),
    "assign_task": (grant(WORKERS, HOLDER),),
    "start_task": (grant(WORKERS, HOLDER),),
    "record_consent": (grant(WORKERS, HOLDER),),
    "complete_task": (grant(WORKERS, HOLDER),),
    "close_task": (grant(WORKERS, HOLDER),),
    "add_task_note": (grant(WORKERS, HOLDER),),
    # A household: personal details from acceptance until the window after the agency's last
    # task of it finished; auditors always (each read recorded first).
    "read_case": (grant(READERS), grant(ADMIN)),
    "read_personal_details": (grant(STAFF, HOLDER, RECENT), grant(AUDITOR)),
    "read_personal_reads": (grant(AUDITOR), grant(CHAIR)),
    "erase_household": (grant(CHAIR),),
    "adopt_playbook": (grant(CHAIR), grant(ADMIN)),
    "read_playbooks": (grant(READERS), grant(ADMIN)),
    # The agency register: the chair or an administrator keeps it; everyone signed in reads it.
    "register_agency": (grant(CHAIR), grant(ADMIN)),
    "read_agencies": (grant(EVERYONE), grant(ADMIN)),
    # Notifications: an agency's contact points are kept like the register; what was sent to
    # whom (ids and codes, nothing personal) is read like the tasks it is about.
    "manage_contacts": (grant(CHAIR), grant(ADMIN)),
    "read_notifications": (grant(READERS), grant(ADMIN)),
    # Build: the leadership group runs the plan; an owner agency checks in its milestones.
    "read_plan": (grant(READERS), grant(ADMIN)),
    "add_milestone": (grant(LEADERSHIP), grant(ADMIN)),
    "check_in_milestone": (grant(WORKERS, Relation.OWNER), grant(LEADERSHIP)),
    "sign_off_gate": (grant(LEADERSHIP),),
    "decide_gate": (grant(CHAIR),),
    "register_programme": (grant(LEADERSHIP), grant(ADMIN)),
    "vote_on_programme": (grant(LEADERSHIP),),
    "decide_programme": (grant(LEADERSHIP),),
    "record_spend": (grant(LEADS, Relation.PROVIDER),),
    "report_result": (grant(LEADS, Relation.PROVIDER),),
    "read_programmes": (grant(READERS), grant(ADMIN)),
    "start_import": (grant(LEADERSHIP | LEADS), grant(ADMIN)),
    "add_import_rows": (grant(LEADERSHIP | LEADS, Relation.STARTER), grant(ADMIN)),
    "commit_import": (grant(LEADERSHIP | LEADS, Relation.STARTER), grant(ADMIN)),
    "read_imports": (grant(READERS), grant(ADMIN)),
    "read_indicators": (grant(EVERYONE), grant(ADMIN)),
    # Audit: auditors read the record; the leadership group sees its accountability figures.
    "read_dead_letters": (grant(AUDITOR), grant(ADMIN)),
    "audit_timeline": (grant(AUDITOR), grant(ADMIN)),
    "audit_as_of": (grant(AUDITOR), grant(ADMIN)),
    "audit_figures": (grant(LEADERSHIP | AUDITOR), grant(ADMIN)),
    "audit_verify": (grant(AUDITOR), grant(ADMIN)),
    "audit_rebuild": (grant(AUDITOR), grant(ADMIN)),
    "audit_export": (grant(AUDITOR), grant(ADMIN)),
    # Running the system: the views' store, rebuilt beside the one served.
    "rebuild_views": (grant(ADMIN),),
}

# Why, where a sentence says more than the list of who may.
WHY: dict[str, str] = {
    "plan_operation": "operations are planned by Police's planning cell",
    "launch_operation": "an operation is run by its planning cell (Police)",
    "conclude_operation": "an operation is run by its planning cell (Police)",
    "record_arrest": "enforcement is recorded by the operation's planning cell (Police)",
    "record_seizure": "enforcement is recorded by the operation's planning cell (Police)",
    "register_witness": "enforcement is recorded by the operation's planning cell (Police)",
    "stage_support": "staged support is visible only to the operation's planning cell",
    "read_staged_support": "staged support is visible only to the operation's planning cell",
    "accept_task": "a task is accepted or declined by the agency it is offered to",
    "decline_task": "a task is accepted or declined by the agency it is offered to",
    "offer_task": "placing or moving a task is the leadership group's",
    "assign_task": "a task is worked by the agency holding it",
    "start_task": "a task is worked by the agency holding it",
    "record_consent": "a task is worked by the agency holding it",
    "complete_task": "a task is worked by the agency holding it",
    "close_task": "a task is worked by the agency holding it",
    "add_task_note": "notes on a task are added by the agency holding it",
    "read_personal_details": "a household's personal details are for staff of an agency that "
    "has accepted one of its tasks (until 30 days after its last one finished), and auditors",
    "read_personal_reads": "who read a family's record is for auditors and the chair",
    "erase_household": "only the leadership group's chair erases a household's details",
    "adopt_playbook": "only the leadership group's chair puts a playbook in force",
    "register_agency": "the agency register is kept by the leadership group's chair",
    "manage_contacts": "agencies' contact points are kept by the leadership group's chair",
    "check_in_milestone": "a milestone is checked in by its owner agency or the leadership group",
    "sign_off_gate": "each leadership-group member signs off the move to Build themselves",
    "decide_gate": "only the leadership group's chair records the Hold-to-Build gate",
    "vote_on_programme": "each commissioning-panel member votes themselves",
    "decide_programme": "the commissioning panel is the leadership group's",
    "record_spend": "spend is reported by the programme's provider's agency lead",
    "report_result": "results are reported by the programme's provider's agency lead",
    "add_import_rows": "an import's rows come from the agency that started it",
    "commit_import": "an import is committed by the agency that started it",
}


@dataclass(frozen=True)
class Caller:
    """Who is asking: an opaque person reference, one role, the agency they act for, and the
    places and operations their token is limited to (empty: not limited)."""

    subject: str
    role: str
    agency: str
    places: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()

    @property
    def scoped(self) -> bool:
        return bool(self.places or self.operations)

    def covers_place(self, place: str | None) -> bool:
        if not self.places:
            return True
        return place is not None and same_place(place, self.places)

    def covers_operation(self, operation_id: object) -> bool:
        return not self.operations or str(operation_id) in self.operations

    def covers(self, place: str | None = None, operation_id: object = None) -> bool:
        """Whether an item in ``place`` and/or of ``operation_id`` lies within the token's
        limits. An item that names no place is outside a token limited to places, and one that
        names no operation outside a token limited to operations: unknown is not allowed."""
        if self.places and not self.covers_place(place):
            return False
        return not self.operations or (
            operation_id is not None and self.covers_operation(operation_id)
        )

    def scope_text(self) -> str:
        places = [f"place {p}" for p in self.places]
        return ", ".join([*places, *(f"operation {o}" for o in self.operations)])


class _Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def agency(self) -> str: ...
    @property
    def role(self) -> str: ...


def caller_from(actor: _Named) -> Caller:
    """A command that names only its actor: that person, their role and agency, with a token
    limited to nothing (transports pass the requester's full scope instead)."""
    return Caller(subject=actor.id, role=actor.role, agency=actor.agency)


def same_place(place: str, places: Iterable[str]) -> bool:
    return Place(place).among(places)


class Refusal(DomainError):
    """Not permitted. ``status`` is 404 where the item is hidden from the caller (answered as
    an unknown id would be), 403 where it is visible but the action is not theirs."""

    status = 403


class NotPermitted(Refusal):
    status = 403


class NotFound(Refusal, Missing):
    status = 404


def permitted(caller: Caller, action: str, relation: Relation = Relation.NONE) -> bool:
    return any(g.admits(caller.role, relation) for g in TABLE[action])


def who_may(action: str) -> str:
    parts = []
    for g in TABLE[action]:
        roles = ", ".join(sorted(g.roles))
        if g.relations is None:
            parts.append(roles)
        else:
            parts.append(f"{roles} ({' or '.join(sorted(r.value for r in g.relations))})")
    return "; ".join(parts)


def check(
    caller: Caller,
    action: str,
    relation: Relation = Relation.NONE,
    *,
    visible: bool = True,
    hidden_as: str = "",
) -> None:
    """Refuse unless ``caller`` may do ``action`` on an item to which their agency has
    ``relation``. ``visible`` False (outside the token's scope, a planned operation outside its
    planning cell): refused as not found, with ``hidden_as`` the unknown-id answer."""
    if not visible:
        raise NotFound(hidden_as or "not found")
    if permitted(caller, action, relation):
        return
    why = WHY.get(action, f"the {caller.role} role may not {action.replace('_', ' ')}")
    raise NotPermitted(f"{why}; {caller.agency} {caller.role} may not (who may: {who_may(action)})")


def check_role(caller: Caller, action: str) -> None:
    """The door's first question, before any item is looked at: could this role do this
    action with any relation at all? (401 and 403 before anything else is done.)"""
    if not any(caller.role in g.roles for g in TABLE[action]):
        why = WHY.get(action, f"the {caller.role} role may not {action.replace('_', ' ')}")
        raise NotPermitted(f"{why} (who may: {who_may(action)})")


# Relations, computed the same way wherever the facts come from.


def operation_relation(caller: Caller) -> Relation:
    """Every operation is Police's: its planners and commanders are its planning cell."""
    if caller.agency == PLANNING_CELL_AGENCY and caller.role in PLANNING:
        return Relation.PLANNING_CELL
    return Relation.NONE


def check_may_plan(caller: Caller, place: str) -> None:
    """Planning is the planning cell's, within the places its token covers; a token limited to
    existing operations cannot make a new one."""
    check(caller, "plan_operation", operation_relation(caller))
    if caller.operations:
        raise NotPermitted(
            "your token is limited to existing operations; planning a new one needs a token "
            "that is not"
        )
    if not caller.covers_place(place):
        raise NotPermitted(f"place {place} is outside your token's scope ({caller.scope_text()})")


def sees_planned_operation(caller: Caller) -> bool:
    """A planned, not yet launched operation is seen by its planning cell, auditors and the
    administrator; for anyone else it does not exist."""
    return caller.role in (ADMINISTRATOR, "auditor") or (
        operation_relation(caller) is Relation.PLANNING_CELL
    )


def operation_visible(caller: Caller, status: str, place: str | None, operation_id: object) -> bool:
    if not caller.covers(place, operation_id):
        return False
    return status != "planned" or sees_planned_operation(caller)


def playbook_in_scope(caller: Caller, scope: str, place: str | None) -> bool:
    """A national playbook needs a token limited to nothing; a place's, one that covers the
    place (and is not limited to operations); an operation's, one limited to no places that
    covers the operation (Hold cannot tell where an operation is from its own store)."""
    if not caller.scoped:
        return True
    if scope.startswith("place:"):
        return place is not None and caller.covers(place=place, operation_id=None)
    if scope.startswith("operation:"):
        return not caller.places and caller.covers_operation(scope.removeprefix("operation:"))
    return False


# The steps of a task's life (the API's /tasks/{id}/{step}) and the table's action for each.
TASK_ACTIONS: dict[str, str] = {
    "accept": "accept_task",
    "decline": "decline_task",
    "offer": "offer_task",
    "assign": "assign_task",
    "start": "start_task",
    "consent": "record_consent",
    "complete": "complete_task",
    "close": "close_task",
    "note": "add_task_note",
}


def task_relation(caller: Caller, holder: str | None, status: str) -> Relation:
    """A task's relation to the caller's agency: offered to it (not yet accepted), held by it
    (accepted, worked, or finished by it: a step on a finished task is the task's own rule,
    409), or none (another agency's, or unplaced)."""
    if holder is None or holder != caller.agency:
        return Relation.NONE
    return Relation.OFFERED if status == "offered" else Relation.HOLDER


@dataclass(frozen=True)
class Engagement:
    """One agency's part in one task of a household: when it accepted it and when its part
    ended (the task finished, or was moved to another agency); None while it goes on."""

    agency: str
    accepted_at: datetime | None
    ended_at: datetime | None


def household_relation(
    caller: Caller,
    engagements: Iterable[Engagement],
    now: datetime,
    window: timedelta = DEFAULT_PERSONAL_WINDOW,
) -> Relation:
    """The caller's agency's relation to a household, from its tasks: holder while it has
    accepted one not yet finished; recent holder until ``window`` after the last one it held
    ended; offered while a task is only offered to it; otherwise none."""
    mine = [e for e in engagements if e.agency == caller.agency]
    held = [e for e in mine if e.accepted_at is not None]
    if any(e.ended_at is None for e in held):
        return Relation.HOLDER
    if any(e.ended_at is None for e in mine):  # offered now, not accepted
        return Relation.OFFERED
    ended = [e.ended_at for e in held if e.ended_at is not None]
    if ended:
        return Relation.RECENT_HOLDER if now - max(ended) <= window else Relation.FORMER_HOLDER
    return Relation.NONE
