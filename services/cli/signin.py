"""``chb signin-link``: a one-time link that signs someone into the pages, for the embedded
default where no identity provider is set up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.root import app
from services.runtime.settings import Settings


@app.command("signin-link")
def signin_link(
    role: Annotated[str, typer.Option(help="planner, agency_worker, auditor, ... (see README)")],
    agency: Annotated[str, typer.Option(help="The agency the person acts for, e.g. msd")],
    place: Annotated[
        list[str] | None, typer.Option(help="Limit to this place (repeatable)")
    ] = None,
    subject: Annotated[
        str, typer.Option(help="The person's opaque reference, never a name")
    ] = "local-user",
    minutes: Annotated[float, typer.Option(help="How long the link works (once)")] = 15.0,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where `chb up` keeps its key (else CHB_JWT_KEY)")
    ] = None,
) -> None:
    """Print a link that signs this person in once, within --minutes (15 by default)."""
    from services.api.identity import ROLES, Identity, local_signing_key
    from services.api.pages.links import make_link
    from services.cli.client import api_url
    from services.cli.register import token_agency_problem

    if role not in ROLES or role == "public":
        typer.echo(f"error: --role {role!r}: not one of {', '.join(ROLES[:-1])}", err=True)
        raise typer.Exit(2)
    if not 0 < minutes <= 24 * 60:
        typer.echo(f"error: --minutes {minutes}: between 0 and a day", err=True)
        raise typer.Exit(2)
    api = api_url()
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    key = local_signing_key(settings.jwt_key, settings.data_dir)
    if key is None:
        typer.echo("error: no key: set CHB_JWT_KEY, or pass the --data-dir `chb up` used", err=True)
        raise typer.Exit(2)
    problem = token_agency_problem(role, agency, api, key, settings.jwt_issuer)
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    identity = Identity(subject, role, agency, tuple(place or ()))
    typer.echo(make_link(api, key, settings.jwt_issuer, identity, ttl=timedelta(minutes=minutes)))
