"""``chb token``: bearer tokens for the API, signed with the local key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.client import api_url
from services.cli.output import fail
from services.cli.root import group

token_app = group("token", "Bearer tokens for the API.")


@token_app.command("issue")
def token_issue(
    role: Annotated[str, typer.Option(help="planner, agency_worker, auditor, ... (see README)")],
    agency: Annotated[str, typer.Option(help="The agency the person acts for, e.g. msd")],
    subject: Annotated[str, typer.Option(help="The person's opaque reference, never a name")] = (
        "local-user"
    ),
    place: Annotated[
        list[str] | None, typer.Option(help="Limit to this place (repeatable)")
    ] = None,
    operation: Annotated[
        list[str] | None, typer.Option(help="Limit to this operation id (repeatable)")
    ] = None,
    hours: Annotated[float, typer.Option(help="How long the token is valid")] = 12.0,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where `chb up` keeps its key (else CHB_JWT_KEY)")
    ] = None,
) -> None:
    """Print a signed token for local use and tests: the key is CHB_JWT_KEY, else the one
    `chb up` keeps in its data directory. The agency must be in the register: the seeded one,
    or the running API's (asked at the API `chb` talks to when the agency is not a seeded
    one)."""
    from services.api.identity import ROLES, Identity, issue_token, local_signing_key
    from services.cli.register import token_agency_problem
    from services.runtime.settings import Settings

    if role not in ROLES:
        fail(f"--role {role!r}: not one of {', '.join(ROLES)}", 2)
    if hours <= 0:
        fail(f"--hours {hours}: must be more than 0", 2)
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    key = local_signing_key(settings.jwt_key, settings.data_dir)
    if key is None:
        fail("no key: set CHB_JWT_KEY, or pass the --data-dir `chb up` used", 2)
    problem = token_agency_problem(role, agency, api_url(), key, settings.jwt_issuer)
    if problem is not None:
        fail(problem)
    identity = Identity(subject, role, agency, tuple(place or ()), tuple(operation or ()))
    print(issue_token(key, settings.jwt_issuer, identity, ttl=timedelta(hours=hours)))
