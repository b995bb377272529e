"""``chb nats``: provision the streams, write the nats-server deploy profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.cli.output import console, fail
from services.cli.root import group
from services.cli.run import provision

nats_app = group("nats", "NATS: provision streams, write the deploy profiles.")


@nats_app.command("provision")
def nats_provision() -> None:
    """Create or update every stream, the audit stream CHB_AUDIT included, with
    CHB_STREAM_REPLICAS replicas. Run it as the admin NATS user (CHB_NATS_USER=admin) before
    the services start, and again after changing the streams' configuration."""
    from services.runtime.settings import Settings

    settings = Settings()
    try:
        provision(settings)
    except Exception as error:
        fail(f"cannot provision the streams at {settings.nats_url}: {error!r}", 2)
    console.print(f"streams provisioned at {settings.nats_url}")


@nats_app.command("deploy-configs")
def nats_deploy_configs(
    directory: Annotated[Path | None, typer.Argument(help="Defaults to deploy/nats")] = None,
    check: Annotated[bool, typer.Option(help="Only report differences; exit 1 if any")] = False,
) -> None:
    """Write the nats-server deploy profiles, rendered from the one definition of the users
    and their permissions (services/runtime/nats_permissions.py)."""
    from services.runtime import nats_config

    target = directory or nats_config.DEFAULT_DIRECTORY
    if check:
        differing = nats_config.check_profiles(target)
        if differing:
            names = ", ".join(differing)
            fail(f"deploy profiles out of date: {names}; run `chb nats deploy-configs`")
        console.print("deploy profiles up to date")
        return
    for path in nats_config.write_profiles(target):
        console.print(f"wrote {path}")
