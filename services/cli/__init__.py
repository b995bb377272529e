"""The ``chb`` command, one module per area: ``run`` (serve, up, cluster up), ``nats``,
``contracts``, ``operations``, ``hold`` and ``tasks``, ``build``, ``audit``, ``tokens``,
``agencies``, ``signin`` and ``demo``. ``root`` holds the root command and its ``--api`` option,
``client`` the one HTTP client, ``output`` what is printed.

Importing it registers every command and connects to nothing."""

from __future__ import annotations

from services.cli import (  # noqa: F401  (each registers its commands on the root)
    agencies,
    audit,
    build,
    contracts,
    demo,
    hold,
    nats,
    notify,
    operations,
    run,
    signin,
    tasks,
    tokens,
    views,
)
from services.cli.client import call
from services.cli.output import AsJson, console, err, fail, show
from services.cli.root import app, group
from services.cli.run import SERVICES_AND_API

notify.register(app, agencies.agency_app)  # chb agency contact ..., chb notifications

# What a command module outside the package needs to add its commands: the root, a group, the
# one HTTP client and the printing (e.g. ``group("notify", "…")``, ``call("GET", "/tasks")``).
__all__ = [
    "SERVICES_AND_API",
    "AsJson",
    "app",
    "call",
    "console",
    "err",
    "fail",
    "group",
    "main",
    "show",
]


def main() -> None:
    app()
