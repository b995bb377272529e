"""The door: who is calling (a valid bearer token), and whether their role could perform the
route's action at all, checked before any handler runs.

Every route of the API is either in ``OPEN`` (probes an orchestrator calls) or in ``ROUTES``
with the action of the authorization table it performs (services/runtime/authorization.py,
the one table); a route in neither is refused to everyone (a test checks that no route is
left out). What the caller may do to a particular item is decided by the route, from the same
table, with their agency's relation to the item.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute

from services.api.identity import Identity, InvalidToken, check_agency, read_token
from services.runtime.authorization import TABLE, TASK_ACTIONS, WHY

log = structlog.get_logger()

# Probes and the Prometheus scrape: no personal data, only service names, counts and positions.
OPEN = frozenset({"health", "ready", "metrics"})

# Each route and the action of the authorization table (services/runtime/authorization.py) it
# performs: the door admits a role only if the table grants that action to it with some
# relation; the route then asks the table again with the caller's relation to the item.
ROUTES: dict[str, str | tuple[str, ...]] = {
    # Clear
    "plan_operation": "plan_operation",
    "launch_operation": "launch_operation",
    "conclude_operation": "conclude_operation",
    "record_arrest": "record_arrest",
    "record_seizure": "record_seizure",
    "register_witness": "register_witness",
    "stage_support": "stage_support",
    "staged_support": "read_staged_support",
    "list_operations": "read_operation",
    "get_operation": "read_operation",
    "hold_summary": "read_operation",
    # Hold
    "list_cases": "read_case",
    "list_tasks": "read_task",
    "task_board": "read_task",
    "get_task": "read_task",
    "change_task": tuple(TASK_ACTIONS.values()),
    "read_personal_details": "read_personal_details",
    "list_personal_reads": "read_personal_reads",
    "erase_household": "erase_household",
    "adopt_playbook": "adopt_playbook",
    "list_playbooks": "read_playbooks",
    # The agency register: the chair or an administrator keeps it; everyone signed in reads it.
    "register_agency": "register_agency",
    "change_agency": "register_agency",
    "list_agencies": "read_agencies",
    "get_agency": "read_agencies",
    # Notifications (services/notify): contact points kept like the register; what was sent.
    "change_contacts": "manage_contacts",
    "list_contacts": "manage_contacts",
    "list_notifications": "read_notifications",
    # Build
    "list_milestones": "read_plan",
    "list_plans": "read_plan",
    "get_plan": "read_plan",
    "add_milestone": "add_milestone",
    "check_in_milestone": "check_in_milestone",
    "sign_off_gate": "sign_off_gate",
    "decide_gate": "decide_gate",
    "register_programme": "register_programme",
    "vote_on_programme": "vote_on_programme",
    "panel_decision": "decide_programme",
    "record_spend": "record_spend",
    "report_result": "report_result",
    "list_programmes": "read_programmes",
    "start_import": "start_import",
    "add_import_rows": "add_import_rows",
    "commit_import": "commit_import",
    "list_imports": "read_imports",
    "list_indicators": "read_indicators",
    "outcomes": "read_indicators",
    # Audit
    "list_dead_letters": "read_dead_letters",
    "audit_timeline": "audit_timeline",
    "audit_as_of": "audit_as_of",
    "audit_figures": "audit_figures",
    "audit_verify": "audit_verify",
    "audit_rebuild": "audit_rebuild",
    # The views themselves (which generation is served; a rebuild beside it): the
    # administrator's, who runs the system.
    "views_status": "rebuild_views",
    "rebuild_views": "rebuild_views",
    "audit_export": "audit_export",
}


def actions_of(route: str) -> tuple[str, ...]:
    action = ROUTES.get(route, ())
    return (action,) if isinstance(action, str) else action


# The roles each route admits at all (before the item is looked at), as the table says.
MATRIX: dict[str, frozenset[str]] = {
    route: frozenset(role for a in actions_of(route) for g in TABLE[a] for role in g.roles)
    for route in ROUTES
}


def allowed(route: str, role: str) -> bool:
    return role in MATRIX.get(route, frozenset())


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
        # The register as the front door knows it: the seeded agencies from the start, then
        # those hold records (its stream, read into the read model).
        check_agency(identity, request.app.state.door.read_model.agencies)
    except InvalidToken as error:
        raise HTTPException(
            status_code=401,
            detail=str(error),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    if not allowed(name, identity.role):
        may = ", ".join(sorted(MATRIX.get(name, frozenset())))
        first = actions_of(name)[0] if actions_of(name) else name
        why = WHY.get(first, f"the {identity.role} role may not use {name}")
        raise HTTPException(status_code=403, detail=f"{why} (roles allowed: {may})")
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
