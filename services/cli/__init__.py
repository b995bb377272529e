"""The ``chb`` command, one module per area: ``run`` (serve, up, cluster up), ``nats``,
``contracts``, ``operations``, ``hold`` and ``tasks``, ``build``, ``audit``, ``tokens``,
``agencies`` and ``demo``. ``root`` holds the root command and its ``--api`` option,
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
    operations,
    run,
    tasks,
    tokens,
)
from services.cli.root import app
from services.cli.run import SERVICES_AND_API

__all__ = ["SERVICES_AND_API", "app", "main"]


def main() -> None:
    app()
