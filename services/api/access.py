"""Who may call what: the role x endpoint matrix, in one place, and the check every call
passes before its handler runs.

Every route of the API is either in ``OPEN`` (probes an orchestrator calls) or in ``MATRIX``
with the roles allowed to call it; a route in neither is refused to everyone (a test checks
that no route is left out). The administrator (the local ``chb up`` token) may call anything.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute

from services.api.identity import Identity, InvalidToken, read_token

log = structlog.get_logger()

# Probes and the Prometheus scrape: no personal data, only service names, counts and positions.
OPEN = frozenset({"health", "ready", "metrics"})

PLANNING = frozenset({"planner", "operation_commander"})
WORKERS = frozenset({"agency_worker", "agency_lead"})
LEADERSHIP = frozenset({"leadership_group_member", "leadership_group_chair"})
STAFF = PLANNING | WORKERS | LEADERSHIP
READERS = STAFF | {"auditor"}  # the auditor reads everything and changes nothing
EVERYONE = READERS | {"public"}  # the public sees aggregates only

MATRIX: dict[str, frozenset[str]] = {
    # Clear: the planning cell plans and runs operations.
    "plan_operation": PLANNING,
    "launch_operation": PLANNING,
    "conclude_operation": PLANNING,
    "record_arrest": PLANNING,
    "record_seizure": PLANNING,
    "register_witness": PLANNING,
    "stage_support": PLANNING,
    "staged_support": PLANNING | {"auditor"},
    "list_operations": READERS,
    "get_operation": READERS,
    # Hold: agencies work their tasks; the leadership group places and oversees them.
    "list_cases": READERS,
    "list_tasks": READERS,
    "get_task": READERS,
    "change_task": WORKERS | LEADERSHIP,
    # Personal details: the field rule (FIELDS below) narrows this to the holding agencies.
    "read_personal_details": STAFF | {"auditor"},
    "list_personal_reads": frozenset({"auditor", "leadership_group_chair"}),
    "erase_household": frozenset({"leadership_group_chair"}),
    "adopt_playbook": frozenset({"leadership_group_chair"}),
    "list_playbooks": READERS,
    "hold_summary": READERS,
    # Build: the leadership group runs the plan and commissions programmes; agency leads
    # report spend, results and indicators for what they provide.
    "list_milestones": READERS,
    "register_programme": LEADERSHIP,
    "panel_decision": LEADERSHIP,
    "record_spend": LEADERSHIP | {"agency_lead"},
    "report_result": LEADERSHIP | {"agency_lead"},
    "list_programmes": READERS,
    "start_import": LEADERSHIP | {"agency_lead"},
    "add_import_rows": LEADERSHIP | {"agency_lead"},
    "commit_import": LEADERSHIP | {"agency_lead"},
    "list_imports": READERS,
    "list_indicators": EVERYONE,
    "outcomes": EVERYONE,
    "list_plans": READERS,
    "get_plan": READERS,
    "decide_gate": frozenset({"leadership_group_chair"}),
    "add_milestone": LEADERSHIP,
    "check_in_milestone": LEADERSHIP | WORKERS,
    # Audit: auditors read the record; leadership groups see their accountability figures.
    "list_dead_letters": frozenset({"auditor"}),
    "audit_timeline": frozenset({"auditor"}),
    "audit_as_of": frozenset({"auditor"}),
    "audit_figures": LEADERSHIP | {"auditor"},
    "audit_verify": frozenset({"auditor"}),
    "audit_rebuild": frozenset({"auditor"}),
    "audit_export": frozenset({"auditor"}),
}


# Why, where the matrix's reason is worth more than a list of roles.
WHY = {
    "stage_support": "staged support is visible only to the operation's planning cell",
    "staged_support": "staged support is visible only to the operation's planning cell",
    "decide_gate": "only the leadership group's chair records the Hold-to-Build gate",
    "adopt_playbook": "only the leadership group's chair puts a playbook in force",
    "erase_household": "only the leadership group's chair erases a household's details",
    "list_personal_reads": "who read a family's record is for auditors and the chair",
}


# The field dimension: what a route answers depends on who asks. Each kind of record below is
# shown in full only to those named; everyone else the route admits sees counts and statuses
# (a planned operation is left out of lists and is "not found" by id). Tested role by role.
PLANNING_CELL_AGENCY = "police"
FIELDS: dict[str, str] = {
    "planned_operation": "the operation's planning cell (police planner or operation "
    "commander whose token covers it), auditors and the administrator",
    "staged_support": "the operation's planning cell, and auditors to read",
    "household_personal_details": "agencies holding one of the household's tasks (any staff "
    "role at that agency), and auditors; every read recorded in Hold's history with its reason",
}


def in_planning_cell(identity: Identity) -> bool:
    return identity.agency == PLANNING_CELL_AGENCY and identity.role in PLANNING


def sees_planned_operation(identity: Identity, operation: dict[str, Any]) -> bool:
    """A planned, not yet launched operation is visible only to its planning cell."""
    if not identity.covers_item(operation):
        return False
    if operation.get("status") != "planned":
        return True
    return identity.role in ("administrator", "auditor") or in_planning_cell(identity)


def sees_personal_details(identity: Identity, holding_agencies: set[str]) -> bool:
    """A household's names, ages, addresses and notes: agencies holding one of its tasks, and
    auditors. Not the administrator: running the system is not a reason to read a family."""
    if identity.role == "auditor":
        return True
    return identity.role in STAFF and identity.agency in holding_agencies


def allowed(route: str, role: str) -> bool:
    return role == "administrator" or role in MATRIX.get(route, frozenset())


async def authorize(request: Request) -> None:
    """Runs before every route: 401 without a valid bearer token, 403 (with the reason) when
    the token's role may not call this route. The identity is left on ``request.state``.
    ``async`` although it never waits: FastAPI runs a plain ``def`` dependency in a worker
    thread, and that hop on every request cost the API a third of its arrests per second."""
    route = request.scope.get("route")
    name = route.name if isinstance(route, APIRoute) else ""
    if name in OPEN:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status_code=401,
            detail="authentication required: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    settings = request.app.state.settings
    try:
        identity = read_token(token, settings.jwt_key, settings.jwt_issuer)
    except InvalidToken as error:
        raise HTTPException(
            status_code=401,
            detail=str(error),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    if not allowed(name, identity.role):
        may = sorted(MATRIX.get(name, frozenset()) | {"administrator"})
        why = WHY.get(name, f"the {identity.role} role may not use {name}")
        raise HTTPException(status_code=403, detail=f"{why} (roles allowed: {', '.join(may)})")
    request.state.identity = identity
    if identity.role == "auditor":
        # An auditor may read everything; every read is on the record (the log line here, and
        # for a family's personal details an event in Hold's history as well).
        log.info(
            "auditor read",
            route=name,
            path=request.url.path,
            subject=identity.subject,
            agency=identity.agency,
        )


async def caller(request: Request) -> Identity:  # async: no thread hop (see authorize)
    identity: Identity = request.state.identity
    return identity


Caller = Annotated[Identity, Depends(caller)]
